package dev.panamann.cli;

import dev.panamann.data.PreparedData;
import dev.panamann.models.Model;
import dev.panamann.ops.Ops;
import dev.panamann.train.Evaluation;
import dev.panamann.train.HyperparameterSearch;
import dev.panamann.train.TrainSettings;
import dev.panamann.train.Training;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code panama-nn search}: grid or random search over learning rate, regularization and hidden
 * size of a TwoLayerNet (or FullyConnectedNet) on CIFAR-10.
 */
@Command(name = "search", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Hyperparameter search (grid, or random with log-uniform ranges) for twolayer or fc on CIFAR-10.",
                "Each of --lr, --reg, --hidden takes a list a,b,c (grid axis / uniform choice) or a range lo:hi "
                        + "(log-uniform in random search; --grid-points log-spaced values in grid search).",
                "Writes into --out: search.csv (sorted by val acc), the best model (model.safetensors, model.json, "
                        + "mean_image.safetensors) for evaluate / predict."})
public final class SearchCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    LossOption lossOption;

    @Option(names = "--model", paramLabel = "TYPE", defaultValue = "twolayer", description = "twolayer or fc (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "random", description = "random or grid (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--trials", paramLabel = "N", defaultValue = "10", description = "Random search: number of trials (default: ${DEFAULT-VALUE}).")
    int trials;

    @Option(names = "--lr", paramLabel = "SPEC", defaultValue = "5e-4:5e-3", description = "Learning rates (default: ${DEFAULT-VALUE}).")
    String lr;

    @Option(names = "--reg", paramLabel = "SPEC", defaultValue = "1e-3:1e-1", description = "L2 strengths (default: ${DEFAULT-VALUE}).")
    String reg;

    @Option(names = "--hidden", paramLabel = "SPEC", defaultValue = "100,200,300",
            description = "Hidden sizes; fc uses the size for each of --hidden-layers layers (default: ${DEFAULT-VALUE}).")
    String hidden;

    @Option(names = "--grid-points", paramLabel = "K", defaultValue = "3", description = "Grid search: values per range (default: ${DEFAULT-VALUE}).")
    int gridPoints;

    @Option(names = "--hidden-layers", paramLabel = "L", defaultValue = "2", description = "fc: number of hidden layers (default: ${DEFAULT-VALUE}).")
    int hiddenLayers;

    @Option(names = "--batch-norm", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "fc: batch norm after each hidden layer (default: on).")
    boolean batchNorm;

    @Option(names = "--update", paramLabel = "RULE", defaultValue = "sgd", description = "Update rule (default: ${DEFAULT-VALUE}).")
    String update;

    @Option(names = "--lr-decay", paramLabel = "F", defaultValue = "0.95", description = "Learning rate factor per epoch (default: ${DEFAULT-VALUE}).")
    double lrDecay;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "200", description = "Minibatch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "5", description = "Epochs per trial (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--weight-scale", paramLabel = "S", description = "Std of the initial weights (default: twolayer 1e-4, fc He init).")
    Float weightScale;

    @Option(names = "--num-train", paramLabel = "N", defaultValue = "10000",
            description = "Training examples per trial (default: ${DEFAULT-VALUE}; the 49000 of the full split take ~5x longer).")
    int numTrain;

    @Option(names = "--num-val", paramLabel = "N", defaultValue = "1000", description = "Validation examples (default: ${DEFAULT-VALUE}).")
    int numVal;

    @Option(names = "--num-test", paramLabel = "N", description = "Test examples for the best model (default: all).")
    Integer numTest;

    @Option(names = "--data", paramLabel = "PATH",
            description = "cifar-10-binary.tar.gz or its folder (default: ../shared/data/cifar10/cifar-10-binary.tar.gz, relative to the current directory).")
    Path data;

    @Option(names = "--out", paramLabel = "DIR", description = "Folder for the results (default: runs/search-<model>-<timestamp>).")
    Path out;

    @Override
    public Integer call() throws Exception {
        String type = model.toLowerCase(Locale.ROOT);
        if (!type.equals("twolayer") && !type.equals("fc")) throw new UserError("search takes --model twolayer or fc, got '" + model + "'");
        String m = mode.toLowerCase(Locale.ROOT);
        if (!m.equals("random") && !m.equals("grid")) throw new UserError("--mode takes random or grid, got '" + mode + "'");
        if (trials < 1) throw new UserError("--trials must be >= 1, got " + trials);
        lossOption.check();
        if (gridPoints < 1) throw new UserError("--grid-points must be >= 1, got " + gridPoints);
        if (hiddenLayers < 1) throw new UserError("--hidden-layers must be >= 1, got " + hiddenLayers);
        TrainSettings base = new TrainSettings(update, 1e-3, lrDecay, batchSize, epochs);

        HyperparameterSearch search = new HyperparameterSearch();
        space(search, "lr", lr, m, false);
        space(search, "reg", reg, m, false);
        space(search, "hidden", hidden, m, true);

        try (Ops ops = common.ops("auto");
             PreparedData d = Inputs.loadCifar(data == null ? Inputs.DEFAULT_CIFAR : data, numTrain, numVal, numTest, System.out)) {
            Path dir = Inputs.outDir(out, "search-" + type);
            ModelSpec base0 = ModelSpec.defaults(type, d.exampleShape(), d.numClasses(), common.seed).withBatchNorm(batchNorm);
            ModelSpec baseSpec = lossOption.apply(weightScale != null ? base0.withWeightScale(weightScale).withInit(false) : base0);
            System.out.printf(Locale.ROOT, "%s search over lr %s, reg %s, hidden %s: %s, %s on %s%n", m, lr, reg, hidden,
                    type.equals("fc") ? hiddenLayers + " hidden layers" + (batchNorm ? " with batch norm" : "") : "twolayer",
                    base.describe().replaceFirst(", lr [^,]*,", ","), ops.name());
            System.out.println("writing to " + dir);
            HyperparameterSearch.TrialRunner runner = trial -> {
                ModelSpec spec = specFor(baseSpec, trial);
                TrainSettings s = base.withLearningRate(trial.get("lr"));
                return Training.trial(() -> spec.build(ops), d, s, common.seed + trial.index());
            };
            if (m.equals("grid")) search.gridSearch(runner);
            else search.randomSearch(trials, common.seed, runner);

            System.out.println();
            search.printTable(System.out);
            Path csv = dir.resolve("search.csv");
            search.writeCsv(csv);
            HyperparameterSearch.Result best = search.best();
            if (best == null) throw new UserError("every trial failed; see the errors above and in " + csv);
            try (Model bestModel = search.bestModel()) {
                ModelSpec spec = specFor(baseSpec, new HyperparameterSearch.Trial(best.trial(), best.params()));
                double testAcc = Evaluation.accuracy(bestModel, d.test(), batchSize);
                Map<String, Object> results = new LinkedHashMap<>();
                results.put("val_acc", best.valAcc());
                results.put("test_acc", testAcc);
                results.put("search_trial", best.trial());
                Map<String, Object> dataInfo = new LinkedHashMap<>();
                dataInfo.put("path", (data == null ? Inputs.DEFAULT_CIFAR : data).toString());
                dataInfo.put("num_train", d.train().size());
                dataInfo.put("num_val", d.val().size());
                dataInfo.put("num_test", d.test().size());
                SavedRun.save(dir, bestModel, d.meanImage(), SavedRun.Descriptor.of(spec, d,
                        base.withLearningRate(best.params().get("lr")), dataInfo, results));
                System.out.printf(Locale.ROOT, "best: trial %d (%s), val acc %.4f, test acc %.4f%n", best.trial(), spec.describe(),
                        best.valAcc(), testAcc);
                System.out.println("wrote " + csv + " and the best model to " + dir);
            }
        }
        return Cli.EXIT_OK;
    }

    private ModelSpec specFor(ModelSpec base, HyperparameterSearch.Trial t) {
        int h = t.getInt("hidden");
        int[] dims = new int[type().equals("fc") ? hiddenLayers : 1];
        Arrays.fill(dims, h);
        return base.withHidden(dims).withReg((float) t.get("reg"));
    }

    private String type() { return model.toLowerCase(Locale.ROOT); }

    /** Adds "a,b,c" (values) or "lo:hi" (a log-uniform range, or grid points) to the search. */
    private void space(HyperparameterSearch s, String name, String spec, String m, boolean integer) {
        String v = spec.trim();
        try {
            if (v.contains(":")) {
                String[] p = v.split(":");
                if (p.length != 2) throw new NumberFormatException();
                double lo = Double.parseDouble(p[0].trim()), hi = Double.parseDouble(p[1].trim());
                if (!(lo > 0) || !(hi >= lo)) throw new UserError("--" + name + " range " + v + " needs 0 < lo <= hi");
                if (m.equals("grid")) {
                    double[] pts = new double[gridPoints];
                    for (int i = 0; i < gridPoints; i++) {
                        double f = gridPoints == 1 ? 0.5 : (double) i / (gridPoints - 1);
                        pts[i] = Math.exp(Math.log(lo) + f * (Math.log(hi) - Math.log(lo)));
                        if (integer) pts[i] = Math.round(pts[i]);
                    }
                    s.values(name, Arrays.stream(pts).distinct().toArray());
                } else if (integer) {
                    s.logUniformInt(name, (int) Math.round(lo), (int) Math.round(hi));
                } else {
                    s.logUniform(name, lo, hi);
                }
            } else {
                String[] p = v.split(",");
                double[] vals = new double[p.length];
                for (int i = 0; i < p.length; i++) {
                    vals[i] = Double.parseDouble(p[i].trim());
                    if (!(vals[i] >= 0) || (integer && (vals[i] < 1 || vals[i] != Math.rint(vals[i])))) {
                        throw new UserError("--" + name + " value " + p[i].trim() + " is out of range");
                    }
                }
                s.values(name, vals);
            }
        } catch (NumberFormatException e) {
            throw new UserError("--" + name + " takes a list a,b,c or a range lo:hi, got '" + spec + "'");
        }
    }
}
