package dev.panamann.cli;

import dev.panamann.data.Datasets;
import dev.panamann.data.PreparedData;
import dev.panamann.models.DataParallel;
import dev.panamann.models.Model;
import dev.panamann.ops.Ops;
import dev.panamann.train.TrainResult;
import dev.panamann.train.TrainSettings;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code panama-nn train}: trains a model with the {@link dev.panamann.train.Solver}, prints
 * validation and test accuracy, wall time and throughput, and saves the model into --out.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a model (default: the cs231n three-layer conv net on CIFAR-10, with 500 hidden units and random flips) and save it.",
                "Writes into --out: model.safetensors, model.json (model type, hyperparameters, results), "
                        + "mean_image.safetensors (CIFAR-10), history.json; with --plots loss.png, accuracy.png, "
                        + "weights.png; with --checkpoint checkpoint_epoch_<e>.safetensors."})
public final class TrainCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    LossOption lossOption;

    @Mixin
    ModelOption modelOption;

    @Option(names = "--dataset", paramLabel = "NAME",
            description = "cifar10 or mnist (default: mnist for mnist-cnn, sigmoid-mlp and prelu-mlp, else cifar10).")
    String dataset;

    @Mixin
    DataOptions dataOptions;

    @Mixin
    OutOption outOption;

    @Mixin
    ScheduleOptions schedule;

    @Option(names = "--flip", negatable = true,
            description = "Augment the training images with random horizontal flips (images only; default: per model, on for convnet).")
    Boolean flip;

    @Mixin
    BatchSizeOption batchSize;

    @Option(names = "--lr", paramLabel = "LR", description = "Initial learning rate (default: per model).")
    Double lr;

    @Option(names = "--weight-decay", paramLabel = "WD",
            description = {"Decoupled weight decay of sgd_nesterov and adamw, w -= lr * WD * w every step, on the weights only",
                    "  (not biases or batch-norm parameters); in [0, 1) (default: sgd_nesterov 5e-4, adamw 1e-2)."})
    Double weightDecay;

    @Option(names = "--schedule", paramLabel = "NAME",
            description = {"Learning-rate schedule: exponential (--lr-decay after every epoch), cosine (cosine annealing",
                    "  to 0, changed every step, after --warmup-epochs of linear warm-up) or onecycle (from lr/25 up to",
                    "  --lr over --warmup-epochs, then down to lr/2.5e5, every step) (default: exponential)."})
    String lrSchedule;

    @Option(names = "--warmup-epochs", paramLabel = "E",
            description = "cosine: epochs of linear warm-up (default 0); onecycle: epochs of the rising phase (default 30 %% of the run). Fractions allowed.")
    Double warmupEpochs;

    @Option(names = "--augment", paramLabel = "LIST",
            description = {"On-the-fly augmentation of the training images on a thread of its own: crop (random crop of the",
                    "  image padded with 4 zeros), flip (random horizontal flips), e.g. crop,flip; or none (default: per model)."})
    String augment;

    @Option(names = "--label-smoothing", paramLabel = "EPS", description = "Label smoothing of the softmax loss, in [0, 1) (default: 0).")
    Double labelSmoothing;

    @Option(names = "--reg", paramLabel = "R", description = "L2 regularization strength, loss + 0.5 * reg * sum(W^2) (default: per model).")
    Float reg;

    @Option(names = "--hidden", paramLabel = "H[,H...]", split = ",", hideParamSyntax = true,
            description = "Hidden size(s): one for convnet/twolayer/sigmoid-mlp/prelu-mlp, one per layer for fc (default: per model).")
    int[] hidden;

    @Mixin
    ArchitectureOptions architecture;

    @Option(names = "--he-init", negatable = true, description = "fc: He initialization instead of --weight-scale (default: on).")
    Boolean heInit;

    @Option(names = "--dropout", paramLabel = "P", description = "Drop probability of hidden units, fc and mnist-cnn (default: fc 0, mnist-cnn 0.5).")
    Float dropout;

    @Option(names = "--filters", paramLabel = "F", description = "convnet: number of filters (default: 32); resnet-small, vgg-small: base width w, channels w-2w-4w-8w (default: 16).")
    Integer filters;

    @Option(names = "--filter-size", paramLabel = "K", description = "convnet: odd filter size (default: 7).")
    Integer filterSize;

    @Mixin
    SplitOptions split;

    @Option(names = "--print-every", paramLabel = "N", defaultValue = "100",
            description = "Print a progress line every N iterations when not on a terminal (default: ${DEFAULT-VALUE}).")
    int printEvery;

    @Option(names = "--checkpoint", description = "Write checkpoint_epoch_<e>.safetensors into --out after every epoch.")
    boolean checkpoint;

    @Option(names = "--resume", paramLabel = "FILE",
            description = "Continue from a checkpoint (give the options of the interrupted run; --epochs may be larger).")
    Path resume;

    @Option(names = "--overwrite",
            description = "Train into an --out folder that holds an earlier run (its weights are removed before training; "
                    + "without this option such a folder is refused).")
    boolean overwrite;

    @Option(names = "--plots", description = "Write loss.png, accuracy.png and the first-layer weights weights.png into --out.")
    boolean plots;

    @Override
    public Integer call() throws Exception {
        String type = modelOption.type("convnet", ModelSpec.TYPES);
        String ds = dataset == null ? ModelSpec.defaultDataset(type) : dataset.toLowerCase(Locale.ROOT);
        if (!Datasets.NAMES.contains(ds)) throw new UserError("unknown --dataset '" + dataset + "': use cifar10 or mnist");
        lossOption.check();
        TrainSettings settings = settings(type);
        if (printEvery < 1) throw new UserError("--print-every must be >= 1, got " + printEvery);

        Path out = outOption.given();
        Path target = out == null && resume != null ? resume.toAbsolutePath().getParent() : out;
        refuseAnEarlierRun(target);

        try (Ops ops = common.ops("native", false);
             PreparedData d = dataOptions.load(ds, split, null, System.out)) {
            if (batchSize.given()) checkBatchSize(settings, d.train().size()); // a default batch may exceed a small --num-train
            ModelSpec spec = spec(type, d);
            Path dir = Inputs.outDir(target, "train-" + type);
            TrainRun run = new TrainRun(dir, ops, d, spec, settings, common.seed, dataOptions.path(ds));
            run.describe();
            try (Model net = DataParallel.of(ops, spec::build)) {
                if (net instanceof DataParallel dp && dp.replicas() > 0) {
                    System.out.println("training data-parallel: " + dp.replicas() + " replicas of the model, one thread each, "
                            + "each batch split between them (-Dpanamann.replicas=0 turns this off)");
                }
                TrainResult r = run.train(net, printEvery, checkpoint, resume);
                run.finish(net, r, plots);
            }
        }
        return Cli.EXIT_OK;
    }

    /**
     * Refuses an --out folder holding an earlier run (its {@code model.json} or weights) unless
     * --overwrite is given or this run resumes from a checkpoint in that folder.
     */
    private void refuseAnEarlierRun(Path dir) throws java.io.IOException {
        if (dir == null || overwrite || !java.nio.file.Files.isDirectory(dir)) return;
        if (resume != null && java.nio.file.Files.isSameFile(dir, resume.toAbsolutePath().getParent())) return;
        for (String name : new String[] {SavedRun.DESCRIPTOR, SavedRun.WEIGHTS}) {
            if (java.nio.file.Files.exists(dir.resolve(name))) {
                throw new UserError("--out " + dir + " holds an earlier run (" + name + "): pass --overwrite to replace it, "
                        + "or choose another --out");
            }
        }
    }

    /**
     * Checks --batch-size against the training examples, before any batch buffer is allocated:
     * a batch larger than the training set samples more than the whole set each iteration, and a
     * huge one would allocate its whole size for nothing.
     */
    private static void checkBatchSize(TrainSettings s, int trainingExamples) {
        if (s.batchSize() > trainingExamples) {
            throw new UserError("--batch-size " + s.batchSize() + " is larger than the " + trainingExamples
                    + " training examples: use at most " + trainingExamples + " (or more --num-train)");
        }
    }

    private TrainSettings settings(String type) {
        TrainSettings s = schedule.apply(ModelRegistry.get(type).training());
        if (lr != null) s = s.withLearningRate(lr);
        if (batchSize.given()) s = s.withBatchSize(batchSize.orElse(s.batchSize()));
        if (flip != null) s = s.withFlip(flip);
        if (augment != null) s = (flip == null ? s.withFlip(false) : s).withAugment(augment); // --augment replaces a default flip
        if (lrSchedule != null || warmupEpochs != null) s = s.withSchedule(lrSchedule != null ? lrSchedule : s.schedule(), warmupEpochs);
        if (schedule.lrDecay != null && s.schedule() != null && !s.schedule().equals("exponential")) {
            throw new UserError("--lr-decay belongs to the exponential schedule, not --schedule " + s.schedule());
        }
        if (weightDecay != null) s = s.withWeightDecay(weightDecay);
        if (labelSmoothing != null) s = s.withLabelSmoothing(labelSmoothing);
        return s;
    }

    private ModelSpec spec(String type, PreparedData d) {
        ModelSpec s = ModelSpec.defaults(type, d.exampleShape(), d.numClasses(), common.seed);
        if (hidden != null) s = s.withHidden(hidden);
        if (reg != null) s = s.withReg(reg);
        s = architecture.apply(s);
        if (heInit != null) s = s.withInit(heInit);
        if (dropout != null) s = s.withDropout(dropout);
        s = lossOption.apply(s);
        if (filters != null || filterSize != null) {
            s = s.withConv(filters != null ? filters : s.numFilters(), filterSize != null ? filterSize : s.filterSize());
        }
        return s;
    }

    /** Text for a picocli description, which is a format string: '%' as "%%". */
    private static String format(String text) { return text.replace("%", "%%"); }

    /** The per-model defaults, for the end of {@code train --help}. */
    static String defaultsFooter() {
        StringBuilder sb = new StringBuilder("%nDefaults per model (change any with the options above):%n");
        for (ModelRegistry.Entry e : ModelRegistry.ENTRIES) {
            String t = e.name();
            int[] shape = "mnist".equals(e.dataset()) ? new int[] {1, 28, 28} : new int[] {3, 32, 32};
            ModelSpec m = e.defaults().spec(t, shape, 10, 0);
            sb.append("  ").append(t).append(" (").append(e.summary()).append(") on ").append(e.dataset()).append("%n      ")
                    .append(format(m.describe().substring(t.length() + 2))).append("%n      ")
                    .append(format(e.training().describe())).append("%n");
        }
        sb.append("Exit codes: 0 success, 2 usage or input error (e.g. data not found), 3 unexpected error.");
        return sb.toString();
    }
}
