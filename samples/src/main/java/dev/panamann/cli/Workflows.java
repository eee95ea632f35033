package dev.panamann.cli;

import com.google.gson.GsonBuilder;
import dev.panamann.data.Cifar10;
import dev.panamann.data.Dataset;
import dev.panamann.data.Mnist;
import dev.panamann.data.Preprocess;
import dev.panamann.data.Splits;
import dev.panamann.io.Plots;
import dev.panamann.tensor.Param;
import dev.panamann.models.Model;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Tensor;
import dev.panamann.train.GradientCheck;
import dev.panamann.train.HyperparameterSearch;
import dev.panamann.train.Solver;
import dev.panamann.loss.SoftmaxCrossEntropy;
import dev.panamann.models.SequentialModel;
import dev.panamann.train.TrainingListener;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The steps every sample and command shares: pick a backend, load and preprocess a dataset,
 * train with the {@link Solver}, evaluate, and write plots. Each is one call, so that a sample
 * reads as a list of steps.
 */
public final class Workflows {
    /** Default CIFAR-10 location, relative to the current directory (the repository root). */
    public static final Path DEFAULT_CIFAR = Path.of("..", "shared", "data", "cifar10", Cifar10.ARCHIVE_NAME);
    /** Default MNIST folder, relative to the current directory (the repository root). */
    public static final Path DEFAULT_MNIST = Path.of("..", "shared", "data", "mnist");
    /** Datasets the samples know. */
    public static final List<String> DATASETS = List.of("cifar10", "mnist");

    /** When the program started (first use of this class, before the backend and the data load). */
    static final long START = System.nanoTime();

    private Workflows() {}

    // ------------------------------------------------------------------ backend and folders

    /**
     * Creates a backend (the caller closes it; the models built on it take it explicitly).
     *
     * @param name    "native", "java" or "auto"
     * @param threads threads for OpenBLAS / oneDNN / the Java loops, or null for the default
     */
    public static Ops backend(String name, Integer threads) {
        Ops ops;
        try {
            ops = Backends.create(name);
        } catch (UnsatisfiedLinkError e) {
            throw new UserError("the native backend cannot be loaded: " + e.getMessage()
                    + "\n  Install the libraries, or run on the pure-Java backend with --backend java (slow) or --backend auto.", e);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage(), e);
        }
        if (threads != null) {
            if (threads < 1) {
                ops.close();
                throw new UserError("--threads must be >= 1, got " + threads);
            }
            ops.setThreads(threads);
        }
        return ops;
    }

    /**
     * The output folder of a run, created.
     *
     * @param given the folder asked for (--out), or null for {@code runs/<name>-<timestamp>} under
     *              the current directory
     * @param name  what ran, e.g. "train-convnet"
     */
    public static Path outDir(Path given, String name) throws IOException {
        Path dir = given;
        if (dir == null) {
            String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT));
            dir = Path.of("runs", name + "-" + stamp);
            for (int k = 2; Files.exists(dir); k++) dir = Path.of("runs", name + "-" + stamp + "-" + k);
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new UserError("--out " + dir + " exists and is not a folder");
        return Files.createDirectories(dir);
    }

    // ------------------------------------------------------------------ data

    /**
     * The default number of validation examples of a dataset: 1000 for CIFAR-10 (the cs231n
     * split), 5000 for MNIST (55000 / 5000, as in the TensorFlow MNIST tutorials). Picking the
     * best epoch on 1000 MNIST digits is noise: nets around 99 % differ by a handful of digits.
     */
    public static int defaultNumVal(String dataset) {
        return "mnist".equals(dataset) ? 5000 : 1000;
    }

    /** The default data location of a dataset ("cifar10" or "mnist"), relative to the current directory. */
    public static Path defaultData(String dataset) {
        return "mnist".equals(dataset) ? DEFAULT_MNIST : DEFAULT_CIFAR;
    }

    /**
     * Loads a dataset, splits it and preprocesses it (see {@link #loadCifar} and {@link #loadMnist}).
     *
     * @param dataset  "cifar10" or "mnist"
     * @param path     the data (null for {@link #defaultData})
     * @param numTrain training examples, or null for all but the validation ones
     * @param numVal   validation examples (the ones after the training ones)
     * @param numTest  test examples, or null for all
     * @param log      where to say what was loaded
     */
    public static PreparedData load(String dataset, Path path, Integer numTrain, int numVal, Integer numTest, PrintStream log)
            throws IOException {
        Path p = path == null ? defaultData(dataset) : path;
        return switch (dataset) {
            case "cifar10" -> loadCifar(p, numTrain, numVal, numTest, log);
            case "mnist" -> loadMnist(p, numTrain, numVal, numTest, log);
            default -> throw new UserError("unknown dataset '" + dataset + "': use " + String.join(" or ", DATASETS));
        };
    }

    /**
     * CIFAR-10 with cs231n's split and preprocessing: the first {@code numTrain} training images
     * train, the next {@code numVal} validate (49000 / 1000 by default), the first
     * {@code numTest} test images test; then the mean training image is subtracted from all
     * three. Only the images needed are read.
     *
     * @param path     cifar-10-binary.tar.gz or its extracted folder
     * @param numTrain training images, or null for all but the validation ones
     * @param numVal   validation images
     * @param numTest  test images, or null for all
     * @param log      where to say what was loaded
     * @return x (N, 3, 32, 32) minus the mean image, with that mean image
     */
    public static PreparedData loadCifar(Path path, Integer numTrain, int numVal, Integer numTest, PrintStream log)
            throws IOException {
        requireData(path, "CIFAR-10", "the " + Cifar10.ARCHIVE_NAME + " archive or its extracted " + Cifar10.FOLDER_NAME
                + "/ folder", DEFAULT_CIFAR);
        checkCounts(numTrain, numVal, numTest);
        long t0 = System.nanoTime();
        Cifar10.Data data = Cifar10.load(path, numTrain == null ? Cifar10.ALL : Math.addExact(numTrain, numVal),
                numTest == null ? Cifar10.ALL : numTest);
        try {
            Splits s = split(data.train(), data.test(), numTrain, numVal, numTest, path);
            Tensor mean = Preprocess.subtractMeanImage(s.train(), s.val(), s.test());
            log.printf(Locale.ROOT, "CIFAR-10 from %s: %s (%.1f s; mean image subtracted)%n", path, sizes(s),
                    (System.nanoTime() - t0) / 1e9);
            return new PreparedData("cifar10", s.train(), s.val(), s.test(), data.classNames(), PreparedData.MEAN_IMAGE, mean, data);
        } catch (RuntimeException e) {
            data.close();
            throw e;
        }
    }

    /**
     * MNIST with pixels scaled to [0, 1]: the first {@code numTrain} training digits train,
     * the next {@code numVal} validate (55000 / 5000 by default), the first {@code numTest}
     * test digits test.
     *
     * @param dir      folder of the four idx files (gzip or not)
     * @param numTrain training digits, or null for all but the validation ones
     * @param numVal   validation digits
     * @param numTest  test digits, or null for all
     * @param log      where to say what was loaded
     * @return x (N, 1, 28, 28) in [0, 1]
     */
    public static PreparedData loadMnist(Path dir, Integer numTrain, int numVal, Integer numTest, PrintStream log)
            throws IOException {
        requireData(dir, "MNIST", "the folder holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                + "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz", DEFAULT_MNIST);
        if (!Files.isDirectory(dir)) {
            throw new UserError("MNIST data must be a folder, but " + dir + " is a file.\n  Pass the folder holding the four idx files with --data DIR.");
        }
        checkCounts(numTrain, numVal, numTest);
        long t0 = System.nanoTime();
        Mnist.Data data = Mnist.load(dir, numTrain == null ? Mnist.ALL : Math.addExact(numTrain, numVal),
                numTest == null ? Mnist.ALL : numTest, true);
        try {
            Splits s = split(data.train(), data.test(), numTrain, numVal, numTest, dir);
            log.printf(Locale.ROOT, "MNIST from %s: %s (%.1f s; pixels scaled to [0, 1])%n", dir, sizes(s), (System.nanoTime() - t0) / 1e9);
            List<String> names = new ArrayList<>();
            for (int i = 0; i < Mnist.NUM_CLASSES; i++) names.add(Integer.toString(i));
            return new PreparedData("mnist", s.train(), s.val(), s.test(), List.copyOf(names), PreparedData.UNIT_SCALE, null, data);
        } catch (RuntimeException e) {
            data.close();
            throw e;
        }
    }

    /**
     * Only the test part of a dataset, as read (no preprocessing): for evaluating a saved model.
     *
     * @param dataset "cifar10" or "mnist"
     * @param path    the data (null for {@link #defaultData})
     * @param numTest test examples to read, or null for all
     * @param log     where to say what was loaded
     * @return x (N_test, C, H, W) (CIFAR-10 pixels 0..255, MNIST pixels in [0, 1]), the caller closes it
     */
    public static Dataset loadTestSet(String dataset, Path path, Integer numTest, PrintStream log) throws IOException {
        Path p = path == null ? defaultData(dataset) : path;
        if (numTest != null && numTest < 1) throw new UserError("--num-test must be >= 1, got " + numTest);
        int max = numTest == null ? Integer.MAX_VALUE : numTest;
        long t0 = System.nanoTime();
        Dataset test;
        switch (dataset) {
            case "cifar10" -> {
                requireData(p, "CIFAR-10", "the " + Cifar10.ARCHIVE_NAME + " archive or its extracted " + Cifar10.FOLDER_NAME + "/ folder",
                        DEFAULT_CIFAR);
                Cifar10.Data d = Cifar10.load(p, 0, max);
                d.train().close();
                test = d.test();
            }
            case "mnist" -> {
                requireData(p, "MNIST", "the folder holding the four idx files", DEFAULT_MNIST);
                Mnist.Data d = Mnist.load(p, 0, max, true);
                d.train().close();
                test = d.test();
            }
            default -> throw new UserError("unknown dataset '" + dataset + "': use " + String.join(" or ", DATASETS));
        }
        log.printf(Locale.ROOT, "%s test set from %s: %d examples (%.1f s)%n", dataset, p, test.size(), (System.nanoTime() - t0) / 1e9);
        return test;
    }

    private static void checkCounts(Integer numTrain, int numVal, Integer numTest) {
        if (numTrain != null && numTrain < 1) throw new UserError("--num-train must be >= 1, got " + numTrain);
        if (numVal < 1) throw new UserError("--num-val must be >= 1, got " + numVal);
        if (numTest != null && numTest < 1) throw new UserError("--num-test must be >= 1, got " + numTest);
        if (numTrain != null && (long) numTrain + numVal > Integer.MAX_VALUE) {
            throw new UserError("--num-train " + numTrain + " plus --num-val " + numVal + " examples are more than any dataset holds: "
                    + "lower --num-train / --num-val");
        }
    }

    private static Splits split(Dataset train, Dataset test, Integer numTrain, int numVal, Integer numTest, Path path) {
        int available = train.size();
        int nTrain = numTrain == null ? available - numVal : numTrain;
        if (nTrain < 1 || nTrain + numVal > available) {
            throw new UserError(path + " holds " + available + " training examples, too few for " + (numTrain == null ? "" : nTrain
                    + " training + ") + numVal + " validation examples: lower --num-train / --num-val");
        }
        if (test.size() == 0) throw new UserError(path + " holds no test examples");
        return Splits.cs231n(train, test, nTrain, numVal, test.size());
    }

    private static String sizes(Splits s) {
        return s.train().size() + " train / " + s.val().size() + " val / " + s.test().size() + " test";
    }

    /** Throws a {@link UserError} saying where the data was expected and how to pass it. */
    static void requireData(Path path, String what, String form, Path defaultPath) {
        requireFile(path, what + " data", "--data PATH", form, defaultPath);
    }

    /**
     * Throws a {@link UserError} unless {@code path} exists, naming it and the option that sets it.
     *
     * @param path        the path to check
     * @param what        what was looked for, e.g. "CIFAR-10 data"
     * @param option      the option that sets it, e.g. "--data PATH"
     * @param form        what the option takes
     * @param defaultPath the default, or null when there is none
     */
    static void requireFile(Path path, String what, String option, String form, Path defaultPath) {
        if (Files.exists(path)) return;
        throw new UserError(what + " not found at " + path + (path.isAbsolute() ? "" : " (" + path.toAbsolutePath().normalize() + ")")
                + ".\n  Pass it with " + option + ": " + form + "."
                + (defaultPath == null ? "" : "\n  The default is " + defaultPath + ", relative to the current directory."));
    }

    // ------------------------------------------------------------------ training

    /**
     * How a training run reports and saves its progress.
     *
     * @param seed          seed of the minibatch sampling
     * @param printEvery    print a line every this many iterations (when no progress bar)
     * @param checkpointDir write {@code checkpoint_epoch_<e>.safetensors} here every epoch, or null
     * @param resume        a checkpoint to continue from, or null
     * @param verbose       print progress at all
     */
    public record RunOptions(long seed, int printEvery, Path checkpointDir, Path resume, boolean verbose) {
        /** Progress printed, no checkpoints. */
        public static RunOptions printing(long seed, int printEvery) {
            return new RunOptions(seed, printEvery, null, null, true);
        }

        /** Nothing printed, no checkpoints (for search trials). */
        public static RunOptions quiet(long seed) {
            return new RunOptions(seed, 100, null, null, false);
        }
    }

    /**
     * What a training run produced; the model holds the best validation parameters.
     *
     * @param bestValAcc      best validation accuracy of the run (the model's now)
     * @param lossHistory     loss of every iteration
     * @param trainAccHistory train accuracy at every check (first iteration, then every epoch)
     * @param valAccHistory   validation accuracy at every check
     * @param seconds         wall time of {@link Solver#train()}, checks included
     * @param imagesPerSecond training throughput (checks excluded)
     * @param iterations      iterations done
     */
    public record TrainResult(float bestValAcc, List<Float> lossHistory, List<Float> trainAccHistory, List<Float> valAccHistory,
                              double seconds, double imagesPerSecond, int iterations) {}

    /**
     * Trains {@code model} on {@code data.train()} with the {@link Solver}, validating on
     * {@code data.val()} every epoch; progress as a bar on a terminal, plain lines otherwise.
     * Afterwards the model holds the parameters of the best validation accuracy.
     *
     * @param model a model whose input shape is the data's example shape
     * @param data  training and validation sets
     * @param s     update rule, learning rate and decay, batch size, epochs
     * @param o     seed, printing, checkpoints, resume
     */
    public static TrainResult train(Model model, PreparedData data, TrainSettings s, RunOptions o) throws IOException {
        return train(model, data, s, o, () -> { });
    }

    /** Something to do once the solver is ready (after a resume succeeded) and before training starts. */
    @FunctionalInterface
    public interface BeforeTraining {
        void run() throws IOException;
    }

    /**
     * As {@link #train(Model, PreparedData, TrainSettings, RunOptions)}, running {@code before}
     * after the solver is set up (and has resumed, if asked) and before the first iteration.
     *
     * @param before what to do just before training starts
     */
    public static TrainResult train(Model model, PreparedData data, TrainSettings s, RunOptions o, BeforeTraining before)
            throws IOException {
        double[] ips = {0};
        if (s.labelSmoothing() > 0) {
            if (!(model instanceof SequentialModel sm) || !(sm.criterion() instanceof SoftmaxCrossEntropy)) {
                throw new UserError("--label-smoothing needs the softmax loss");
            }
            sm.setLoss(new SoftmaxCrossEntropy(s.labelSmoothing()));
        }
        try (Solver solver = new Solver(model, data.train(), data.val())
                .updateRule(s.updateRule())
                .optimConfig(s.optimConfig())
                .schedule(s.lrSchedule())
                .batchSize(s.batchSize())
                .numEpochs(s.epochs())
                .flipHorizontal(s.flip())
                .augment(s.augmentation())
                .printEvery(o.printEvery())
                .seed(o.seed())
                .verbose(o.verbose())
                .addListener(new TrainingListener() {
                    @Override
                    public void afterStep(Solver solver, Progress p) { ips[0] = p.imagesPerSecond(); }
                })) {
            if (o.checkpointDir() != null) solver.checkpointName(o.checkpointDir().resolve("checkpoint").toString());
            if (o.resume() != null) {
                requireFile(o.resume(), "checkpoint", "--resume FILE", "a checkpoint_epoch_<e>.safetensors written by --checkpoint", null);
                try {
                    solver.resume(o.resume());
                } catch (IllegalArgumentException e) {
                    throw new UserError("cannot resume from " + o.resume() + ": " + e.getMessage()
                            + "\n  Resume with the options of the interrupted run (model, --batch-size, --update, --num-train).", e);
                }
                if (o.verbose()) {
                    System.out.printf(Locale.ROOT, "resumed from %s: epoch %d, iteration %d of %d, best val acc %.4f%n", o.resume(),
                            solver.epoch(), solver.iteration(), solver.numIterations(), solver.bestValAcc());
                }
            }
            before.run();
            long t0 = System.nanoTime();
            solver.train();
            double seconds = (System.nanoTime() - t0) / 1e9;
            return new TrainResult(solver.bestValAcc(), List.copyOf(solver.lossHistory()), List.copyOf(solver.trainAccHistory()),
                    List.copyOf(solver.valAccHistory()), seconds, ips[0], solver.iteration());
        }
    }

    /**
     * One trial of a hyperparameter search: builds the model, trains it quietly and hands it to
     * the search with its best validation accuracy (the model is closed if training fails).
     *
     * @param ops  backend
     * @param spec the trial's architecture
     * @param data training and validation sets
     * @param s    the trial's schedule
     * @param seed seed of the minibatch sampling
     */
    public static HyperparameterSearch.Outcome trial(Ops ops, ModelSpec spec, PreparedData data, TrainSettings s, long seed)
            throws IOException {
        Model net = spec.build(ops);
        try {
            TrainResult r = train(net, data, s, RunOptions.quiet(seed));
            return new HyperparameterSearch.Outcome(net, r.bestValAcc(),
                    r.trainAccHistory().isEmpty() ? Double.NaN : r.trainAccHistory().getLast());
        } catch (IOException | RuntimeException | Error e) {
            net.close();
            throw e;
        }
    }

    // ------------------------------------------------------------------ output

    /**
     * Prints a gradient check: per parameter its shape, elements checked, cs231n relative error,
     * the deciding error and PASS / FAIL, the worst element of each failure, and a last line
     * PASS or FAIL.
     *
     * @param net       the checked model
     * @param results   {@link GradientCheck#checkModel}'s results by param name
     * @param samples   elements checked per param (0: all)
     * @param tolerance largest error that passes
     * @param out       where to print
     * @return whether every parameter passed
     */
    public static boolean printGradCheck(Model net, Map<String, GradientCheck.Result> results, int samples, double tolerance,
                                         PrintStream out) {
        Map<String, Param> params = net.paramMap();
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"param", "shape", "checked", "rel error", "error", "result"});
        boolean ok = true;
        for (var e : results.entrySet()) {
            Param p = params.get(e.getKey());
            GradientCheck.Result r = e.getValue();
            boolean pass = r.ok(tolerance);
            ok &= pass;
            long checked = samples == 0 ? p.value().size() : Math.min(samples, p.value().size());
            rows.add(new String[] {e.getKey(), p.value().shapeString(), Long.toString(checked), String.format(Locale.ROOT, "%.2e", r.relError()),
                    String.format(Locale.ROOT, "%.2e", r.error()), pass ? "PASS" : "FAIL"});
        }
        int[] w = new int[6];
        for (String[] row : rows) for (int i = 0; i < 6; i++) w[i] = Math.max(w[i], row[i].length());
        for (String[] row : rows) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 6; i++) sb.append(i == 0 ? "" : "  ").append(String.format(i <= 1 ? "%-" + w[i] + "s" : "%" + w[i] + "s", row[i]));
            out.println(sb);
        }
        for (var e : results.entrySet()) {
            GradientCheck.Result r = e.getValue();
            if (!r.ok(tolerance)) {
                out.printf(Locale.ROOT, "  %s: worst element %d: analytic %.6e, numeric (centered) %.6e%n", e.getKey(),
                        r.worstIndex(), r.analytic(), r.numeric());
            }
        }
        out.println("rel error: cs231n max |a - n| / (|a| + |n|) of the centered difference (large where a value is ~0 or a kink is hit); "
                + "error: the floored, kink-aware error that decides");
        if (!ok) {
            out.println("A failure on one or two parameters of a net with ReLU or max pooling can be a kink of the loss within a step"
                    + " of the weight (seen as a large gap between analytic and numeric); a wrong gradient fails for every seed.");
        }
        out.println(ok ? "PASS" : "FAIL");
        return ok;
    }


    /**
     * Writes {@code loss.png}, {@code accuracy.png} and the first layer's weights as
     * {@code weights.png} into {@code dir}.
     *
     * @param dir   the run folder
     * @param r     the run's histories
     * @param model the trained model
     * @param spec  its architecture (for the input shape of the weight images)
     * @return the files written
     */
    public static List<Path> writePlots(Path dir, TrainResult r, Model model, ModelSpec spec) throws IOException {
        List<Path> files = new ArrayList<>();
        Path loss = dir.resolve("loss.png"), acc = dir.resolve("accuracy.png");
        Plots.lossCurve(r.lossHistory(), loss);
        files.add(loss);
        Plots.accuracyCurves(r.trainAccHistory(), r.valAccHistory(), acc);
        files.add(acc);
        Path grid = dir.resolve("weights.png");
        if (firstLayerGrid(model, spec, grid)) files.add(grid);
        return files;
    }

    /**
     * Draws the first layer's weights: conv filters (F, C, KH, KW) as they are, or the columns
     * of an affine W1 (D, H) as H images of the input shape. Returns false (and writes nothing)
     * when the first layer cannot be drawn (inputs that are not 1- or 3-channel images).
     *
     * @param model the model; its first param is the first layer's weights
     * @param spec  its architecture (for the input shape)
     * @param png   the file to write
     */
    public static boolean firstLayerGrid(Model model, ModelSpec spec, Path png) throws IOException {
        Tensor w = model.params().get(0).value();
        int[] in = spec.inputShape();
        if (w.rank() == 4 && (w.dim(1) == 1 || w.dim(1) == 3)) {
            Plots.weightGrid(w, null, 1, Math.max(2, 48 / w.dim(2)), png);
            return true;
        }
        if (w.rank() == 2 && in.length == 3 && (in[0] == 1 || in[0] == 3) && w.dim(0) == spec.inputDim()) {
            Plots.weightGrid(w, in, 1, Math.max(1, 64 / in[1]), png);
            return true;
        }
        return false;
    }

    /**
     * Writes the loss and accuracy histories as {@code history.json} ({@code loss},
     * {@code train_acc}, {@code val_acc}).
     *
     * @param dir the run folder
     * @param r   the run's histories
     */
    public static Path writeHistory(Path dir, TrainResult r) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("loss", r.lossHistory());
        m.put("train_acc", r.trainAccHistory());
        m.put("val_acc", r.valAccHistory());
        Path f = dir.resolve("history.json");
        Files.writeString(f, new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(m), StandardCharsets.UTF_8);
        return f;
    }

    /** 0.6123 as "61.23%". */
    public static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.2f%%", 100 * fraction);
    }

    /** Seconds as "m:ss" or "h:mm:ss". */
    public static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    /** A title line for a step of a sample: "== title ==". */
    public static void section(PrintStream out, String title) {
        out.println();
        out.println("== " + title + " ==");
    }
}
