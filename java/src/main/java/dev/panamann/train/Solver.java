package dev.panamann.train;

import dev.panamann.data.Augmentation;
import dev.panamann.data.AugmentingLoader;
import dev.panamann.data.Batcher;
import dev.panamann.data.Dataset;
import dev.panamann.io.AtomicFiles;
import dev.panamann.models.Model;
import dev.panamann.optim.LrSchedule;
import dev.panamann.optim.Optimizer;
import dev.panamann.optim.Optimizers;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Trains a classification {@link Model} with minibatch gradient descent, with the semantics of
 * the cs231n {@code Solver}:
 *
 * <pre>{@code
 * try (Solver solver = new Solver(model, data.train(), data.val())
 *         .updateRule("adam")
 *         .optimConfig(Map.of("learning_rate", 1e-3))
 *         .schedule(LrSchedule.exponential(0.95))
 *         .batchSize(100)
 *         .numEpochs(10)
 *         .printEvery(100)) {
 *     solver.train();          // the model now holds the best validation parameters
 *     Plots.lossCurve(solver.lossHistory(), Path.of("loss.png"));
 * }
 * }</pre>
 *
 * <p>The solver runs the loop only. What the run has learned and counted lives in its
 * {@link TrainingState} ({@link #state()}: model and optimizer state, generators, histories,
 * best parameters), which also reads and writes checkpoints; progress output, update-ratio
 * monitoring and anything else that watches or joins the loop are {@link TrainingListener}s.
 *
 * <p>{@link #train()} runs {@code numEpochs * max(numTrain / batchSize, 1)} iterations. Each
 * draws a minibatch of {@code batchSize} training examples at random with replacement (a
 * {@link Batcher} on the solver's seeded {@link Rng}; with {@link #augment} an
 * {@link AugmentingLoader} makes them, augmented, on its own thread), runs {@link Model#loss} (forward and
 * backward), calls the listeners' {@link TrainingListener#afterBackward afterBackward} and makes
 * one update of the optimizer. When no listener but the progress output is attached (no
 * update-ratio monitor, none added), nothing reads the gradients between the pass and the
 * update, and the two run as one {@link Model#trainStep} call, which a model may fuse
 * ({@code models.DataParallel} applies plain SGD inside its weight-gradient products); a
 * non-finite loss is then reported after the update. At the end of each epoch the learning rate becomes
 * {@code schedule.rate(initial, epoch, numEpochs)} (default: constant; {@link #lrDecay} sets an
 * exponential decay per epoch); a {@link LrSchedule#perIteration()} schedule instead sets
 * {@code schedule.rateAt(initial, iteration, iterationsPerEpoch, numEpochs)} before every
 * update. After the first iteration, after the last and at the end of
 * every epoch the accuracy is checked on {@code numTrainSamples} random training examples and on
 * the validation set ({@code numValSamples} of them, or all), evaluated in batches of
 * {@code batchSize} (cs231n uses 100; the same size as training keeps the model's buffers), the
 * histories grow, the model state is kept (as off-heap copies) when the validation accuracy is
 * the best so far, and a checkpoint is written when {@code checkpointName} is set. When training
 * ends the model holds the best parameters.
 *
 * <p>Checkpoints ({@code <checkpointName>_epoch_<e>.safetensors}, written atomically; format in
 * {@link TrainingState}) hold the whole training state. A new solver with the same model
 * architecture, data and options continues an interrupted run exactly with {@link #resume(Path)}
 * followed by {@link #train()}: the parameters end bit-identical to a run that never stopped,
 * with or without dropout. {@code numEpochs} may be larger than when the checkpoint was written,
 * to train further; the update rule and its hyperparameters, the schedule, the batch size and
 * the training-set size must be those of the checkpoint.
 *
 * <p>Progress: with {@code verbose} a {@link ProgressLogger} (a bar on a terminal, otherwise
 * plain lines every {@code printEvery} iterations and at each check). With
 * {@link #monitorUpdateRatios(boolean)} an {@link UpdateRatioMonitor} measures
 * ||update|| / ||w|| of each parameter every {@code printEvery} iterations.
 *
 * <p>Configure before training: the setters return the solver and check their argument at
 * once ({@link IllegalArgumentException}); the rule, optim config, schedule, batch size and seed
 * can no longer change once training or a resume started ({@link IllegalStateException}). The
 * solver owns its batch buffers and training state ({@link #close()}); the model, datasets and
 * added listeners stay the caller's.
 */
public final class Solver implements AutoCloseable {

    // ------------------------------------------------------------------ configuration
    private final Model model;
    private final Dataset train, val;
    private String updateRule = "sgd";
    private Map<String, Number> optimConfig = Map.of();
    private LrSchedule schedule = LrSchedule.constant();
    private int batchSize = 100;
    private int numEpochs = 10;
    private int printEvery = 10;
    private int numTrainSamples = 1000;
    private int numValSamples = 0;
    private String checkpointName;
    private boolean verbose = true;
    private long seed = 0;
    private boolean flip;
    private Augmentation augmentation = Augmentation.none();
    private AccuracyCheck accuracyCheck = (solver, data, n, batch) -> solver.checkAccuracy(data, n, batch);
    private boolean monitorUpdates;
    private PrintStream out = System.out;
    private Boolean progressBar;
    private final List<TrainingListener> listeners = new ArrayList<>();

    // ------------------------------------------------------------------ run
    private TrainingState state;
    private Rng rng;
    private Batcher batcher, evalTrain, evalVal;
    private AugmentingLoader loader;
    private ProgressLogger logger;
    private UpdateRatioMonitor monitor;
    private boolean closed;
    /** The training and validation data were checked for non-finite values (once per solver). */
    private boolean dataChecked;

    /**
     * @param model the model to train (its parameters change; the caller closes it)
     * @param train training examples, x (N, ...) and N labels
     * @param val   validation examples, x (M, ...) of the same example shape, and M labels
     */
    public Solver(Model model, Dataset train, Dataset val) {
        if (model == null) throw new IllegalArgumentException("model is missing (null)");
        if (train == null) throw new IllegalArgumentException("training set is missing (null)");
        if (val == null) throw new IllegalArgumentException("validation set is missing (null): the solver checks accuracy on it every epoch");
        if (train.size() == 0) throw new IllegalArgumentException("training set is empty");
        if (val.size() == 0) throw new IllegalArgumentException("validation set is empty");
        if (!Arrays.equals(train.exampleShape(), val.exampleShape())) {
            throw new IllegalArgumentException("training examples have shape " + Arrays.toString(train.exampleShape())
                    + " but validation examples have shape " + Arrays.toString(val.exampleShape()));
        }
        checkLabels("training", train, model.numClasses());
        checkLabels("validation", val, model.numClasses());
        this.model = model;
        this.train = train;
        this.val = val;
    }

    private static void checkLabels(String what, Dataset d, int classes) {
        int[] y = d.y();
        for (int i = 0; i < y.length; i++) {
            if (y[i] < 0 || y[i] >= classes) {
                throw new IllegalArgumentException(what + " label " + i + " is " + y[i] + " but the model has " + classes
                        + " classes (labels must be in [0, " + classes + "))");
            }
        }
    }

    // ------------------------------------------------------------------ options

    /** Update rule: "sgd" (default), "sgd_momentum", "nesterov", "rmsprop" or "adam". */
    public Solver updateRule(String rule) {
        requireNotStarted("updateRule");
        if (rule == null || !Optimizers.RULES.contains(rule.trim().toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("unknown update rule '" + rule + "': use one of " + Optimizers.RULES);
        }
        this.updateRule = rule.trim().toLowerCase(Locale.ROOT);
        return this;
    }

    /**
     * Hyperparameters of the rule by their cs231n names ({@code learning_rate}, {@code momentum},
     * {@code decay_rate}, {@code beta1}, {@code beta2}, {@code epsilon}); missing ones take the
     * rule's defaults. See {@link Optimizers}.
     */
    public Solver optimConfig(Map<String, ? extends Number> config) {
        requireNotStarted("optimConfig");
        Map<String, Number> c = new LinkedHashMap<>(config == null ? Map.of() : config);
        for (String k : List.of("learning_rate", "lr")) {
            if (c.containsKey(k)) {
                Number v = c.get(k);
                if (v == null || !(v.doubleValue() > 0) || !Double.isFinite(v.doubleValue())) {
                    throw new IllegalArgumentException("learning rate must be a finite number > 0, got " + v);
                }
            }
        }
        this.optimConfig = Collections.unmodifiableMap(c);
        return this;
    }

    /**
     * The learning-rate schedule (default {@link LrSchedule#constant()}), applied at the end of
     * every epoch, or before every step when it is {@link LrSchedule#perIteration()} (warm-up
     * with cosine, one-cycle: the configured learning rate is then the peak).
     */
    public Solver schedule(LrSchedule s) {
        requireNotStarted("schedule");
        if (s == null) throw new IllegalArgumentException("schedule is null (use LrSchedule.constant())");
        this.schedule = s;
        return this;
    }

    /**
     * Factor applied to the learning rate after every epoch (default 1: no decay); &gt; 0.
     * Short for {@code schedule(LrSchedule.exponential(decay))}.
     */
    public Solver lrDecay(double decay) {
        if (!(decay > 0) || !Double.isFinite(decay)) throw new IllegalArgumentException("lrDecay must be a finite number > 0, got " + decay);
        return schedule(LrSchedule.exponential(decay));
    }

    /** Minibatch size (default 100); &gt;= 1. */
    public Solver batchSize(int n) {
        requireNotStarted("batchSize");
        if (n < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + n);
        this.batchSize = n;
        return this;
    }

    /** The minibatch size. */
    public int batchSize() { return batchSize; }

    /** Number of epochs of the whole run (default 10); &gt;= 1. */
    public Solver numEpochs(int n) {
        if (n < 1) throw new IllegalArgumentException("numEpochs must be >= 1, got " + n);
        this.numEpochs = n;
        return this;
    }

    /** Print (and measure update ratios) every this many iterations (default 10); &gt;= 1. */
    public Solver printEvery(int n) {
        if (n < 1) throw new IllegalArgumentException("printEvery must be >= 1, got " + n);
        this.printEvery = n;
        return this;
    }

    /** Training examples used for each train-accuracy check (default 1000); null or 0 for all. */
    public Solver numTrainSamples(Integer n) {
        this.numTrainSamples = samples("numTrainSamples", n);
        return this;
    }

    /** Validation examples used for each check; null or 0 (the default) for all. */
    public Solver numValSamples(Integer n) {
        this.numValSamples = samples("numValSamples", n);
        return this;
    }

    private static int samples(String what, Integer n) {
        if (n == null) return 0;
        if (n < 0) throw new IllegalArgumentException(what + " must be >= 0 (0 or null for all), got " + n);
        return n;
    }

    /**
     * Writes a checkpoint at every accuracy check to {@code <name>_epoch_<e>.safetensors}
     * (the name may include directories); null (the default) for none.
     */
    public Solver checkpointName(String name) {
        if (name != null && name.isBlank()) throw new IllegalArgumentException("checkpoint name is blank");
        this.checkpointName = name;
        return this;
    }

    /** Print progress (default true). */
    public Solver verbose(boolean v) {
        this.verbose = v;
        return this;
    }

    /** Seed of the minibatch and subsample generator (default 0). */
    public Solver seed(long s) {
        requireNotStarted("seed");
        if (rng != null) throw new IllegalStateException("cannot change the seed after the generator was used");
        this.seed = s;
        return this;
    }

    /**
     * Data augmentation: mirror each training image left to right with probability 1/2 as it
     * is copied into the minibatch (default off; needs (N, C, H, W) data). The draws come from
     * the solver's seeded generator, so runs and resumed runs stay reproducible.
     */
    public Solver flipHorizontal(boolean on) {
        requireNotStarted("flipHorizontal");
        if (on && train.x().rank() != 4) {
            throw new IllegalArgumentException("horizontal flips need images (N, C, H, W), but the training data has shape "
                    + train.x().shapeString());
        }
        this.flip = on;
        return this;
    }

    /**
     * Data augmentation on the fly (default {@link Augmentation#none()}): random crops with
     * zero padding and horizontal flips of the training images (N, C, H, W), made by an
     * {@link AugmentingLoader} on a thread of its own while the previous step runs. Its batches
     * are drawn with replacement like the plain ones, from a stream that depends on the seed
     * and the iteration only: runs and resumed runs stay reproducible, and a checkpoint refuses a
     * resume with another augmentation or seed. Replaces {@link #flipHorizontal} (set one of the
     * two).
     */
    public Solver augment(Augmentation a) {
        requireNotStarted("augment");
        if (a == null) throw new IllegalArgumentException("augmentation is null (use Augmentation.none())");
        if (!a.isNone() && train.x().rank() != 4) {
            throw new IllegalArgumentException("augmentation needs images (N, C, H, W), but the training data has shape "
                    + train.x().shapeString());
        }
        this.augmentation = a;
        return this;
    }

    /** The data augmentation ({@link Augmentation#none()} unless set). */
    public Augmentation augmentation() { return augmentation; }

    /**
     * Measure ||update|| / ||w|| per parameter every {@code printEvery} iterations with an
     * {@link UpdateRatioMonitor} (default off); printed with the progress when verbose.
     */
    public Solver monitorUpdateRatios(boolean on) {
        this.monitorUpdates = on;
        return this;
    }

    /** Where progress goes (default System.out). */
    public Solver out(PrintStream stream) {
        if (stream == null) throw new IllegalArgumentException("output stream is null");
        this.out = stream;
        return this;
    }

    /**
     * Forces the progress bar on (true) or plain lines (false); null (the default) chooses the
     * bar when {@code out} is System.out and a terminal is attached.
     */
    public Solver progressBar(Boolean on) {
        this.progressBar = on;
        return this;
    }

    /** Adds a listener; listeners run in the order added, after the solver's own output. */
    public Solver addListener(TrainingListener l) {
        if (l == null) throw new IllegalArgumentException("listener is null");
        listeners.add(l);
        return this;
    }

    /**
     * How the checks measure the train and validation accuracy; by default
     * {@link #checkAccuracy}. Data-parallel training replaces it to evaluate each worker's
     * share of the validation set and sum the counts across the workers.
     */
    public Solver accuracyCheck(AccuracyCheck check) {
        if (check == null) throw new IllegalArgumentException("accuracy check is null");
        this.accuracyCheck = check;
        return this;
    }

    /** Measures the accuracy of one check: see {@link #accuracyCheck(AccuracyCheck)}. */
    @FunctionalInterface
    public interface AccuracyCheck {
        /**
         * @param solver     the solver running the check
         * @param data       the solver's training or validation set
         * @param numSamples examples to draw, or null / 0 for all (as {@link Solver#checkAccuracy})
         * @param batchSize  examples per forward pass
         * @return the fraction of correctly classified examples
         */
        float accuracy(Solver solver, Dataset data, Integer numSamples, int batchSize);
    }

    /** Removes a listener added before (no effect if it is not there). */
    public Solver removeListener(TrainingListener l) {
        listeners.remove(l);
        return this;
    }

    private void requireNotStarted(String what) {
        if (state != null) throw new IllegalStateException("cannot change " + what + " after training or resume started");
    }

    // ------------------------------------------------------------------ training

    /** Creates the optimizer, generator, batch buffers and training state (once). */
    private TrainingState init() {
        checkOpen();
        if (state != null) return state;
        if (flip && !augmentation.isNone()) {
            throw new IllegalStateException("both flipHorizontal and augment are set: use augment(new Augmentation(padding, true)) alone");
        }
        Optimizer opt = Optimizers.create(updateRule, optimConfig); // validates rule and config
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("update_rule", opt.rule());
        settings.put("hyperparameters", opt.hyperparameters().toString());
        settings.put("schedule", schedule.describe());
        settings.put("batch_size", Integer.toString(batchSize));
        settings.put("num_train", Integer.toString(train.size()));
        if (!augmentation.isNone()) settings.put("augmentation", augmentation.describe() + ", seed " + seed);
        TrainingState s;
        try {
            s = new TrainingState(model, opt, rng(), settings);
        } catch (RuntimeException e) {
            opt.close();
            throw e;
        }
        try {
            batcher = new Batcher(train, batchSize, rng).flipHorizontal(flip);
            if (!augmentation.isNone()) loader = new AugmentingLoader(train, batchSize, augmentation, seed);
        } catch (RuntimeException e) {
            if (batcher != null) batcher.close();
            batcher = null;
            s.close();
            throw e;
        }
        state = s;
        return s;
    }

    private Rng rng() {
        if (rng == null) rng = new Rng(seed);
        return rng;
    }

    /** Iterations per epoch: {@code max(numTrain / batchSize, 1)}. */
    public int iterationsPerEpoch() { return Math.max(train.size() / batchSize, 1); }

    /** Iterations of the whole run: {@code numEpochs * iterationsPerEpoch()}. */
    public int numIterations() { return numEpochs * iterationsPerEpoch(); }

    /**
     * Trains from the current iteration to {@code numIterations()} and then loads the best
     * validation parameters into the model.
     *
     * @throws IOException when a checkpoint cannot be written
     */
    public void train() throws IOException {
        TrainingState s = init();
        Optimizer optimizer = s.optimizer();
        List<Param> params = s.params();
        int perEpoch = iterationsPerEpoch(), total = numIterations();
        boolean perStep = schedule.perIteration();
        List<TrainingListener> all = new ArrayList<>();
        logger = verbose ? new ProgressLogger(out, ProgressLogger.barSuits(out, progressBar), printEvery) : null;
        if (logger != null) all.add(logger);
        if (monitorUpdates) {
            if (monitor == null) monitor = new UpdateRatioMonitor(printEvery, line -> { if (logger != null) logger.line(line); });
            monitor.every(printEvery);
            all.add(monitor);
        }
        all.addAll(listeners);
        TrainingListener[] ls = all.toArray(TrainingListener[]::new);
        // nothing reads the gradients between the pass and the update: one trainStep call
        boolean fuse = ls.length == (logger == null ? 0 : 1);
        if (s.iteration() > total) {
            throw new IllegalArgumentException("the resumed run is at iteration " + s.iteration() + " (epoch " + s.epoch()
                    + ") but this solver runs only " + total + " iterations (" + numEpochs + " epochs): ask for at least "
                    + s.epoch() + " epochs to continue it");
        }
        if (!dataChecked) {
            requireFinite("training", train);
            if (val != train) requireFinite("validation", val);
            dataChecked = true;
        }
        if (checkpointName != null) AtomicFiles.deleteStale(checkpointPath(0).toAbsolutePath().getParent(),
                Path.of(checkpointName).getFileName() + "_epoch_");
        long start = System.nanoTime(), trainNanos = 0;
        int startIt = s.iteration();
        Throwable failure = null;
        try {
            for (TrainingListener l : ls) l.onTrainStart(this);
            for (int t = s.iteration(); t < total; t++) {
                long s0 = System.nanoTime();
                for (TrainingListener l : ls) l.beforeStep(this, t);
                Tensor x;
                int[] y;
                if (loader != null) {
                    x = loader.next(t);
                    y = loader.y();
                } else {
                    batcher.sample();
                    x = batcher.x();
                    y = batcher.y();
                }
                if (fuse && perStep) optimizer.setLearningRate(schedule.rateAt(s.initialLearningRate(), t, perEpoch, numEpochs));
                float loss = fuse ? model.trainStep(x, y, optimizer) : model.loss(x, y);
                if (!Float.isFinite(loss)) {
                    throw new TrainingDivergedException("loss " + loss, s.epoch(), t, optimizer.learningRate());
                }
                if (!fuse) {
                    for (TrainingListener l : ls) l.afterBackward(this, t, loss);
                    if (perStep) optimizer.setLearningRate(schedule.rateAt(s.initialLearningRate(), t, perEpoch, numEpochs));
                    optimizer.step(params);
                }
                trainNanos += System.nanoTime() - s0;
                s.recordStep(loss);
                int done = s.iteration() - startIt;
                double elapsed = (System.nanoTime() - start) / 1e9;
                double ips = trainNanos > 0 ? (double) done * batchSize / (trainNanos / 1e9) : 0;
                double eta = elapsed / done * (total - s.iteration());
                TrainingListener.Progress p = new TrainingListener.Progress(s.iteration(), total, s.epoch(), numEpochs, loss, ips, eta);
                for (TrainingListener l : ls) l.afterStep(this, p);

                boolean epochEnd = (t + 1) % perEpoch == 0;
                if (epochEnd) {
                    s.recordEpoch();
                    if (!perStep) optimizer.setLearningRate(schedule.rate(s.initialLearningRate(), s.epoch(), numEpochs));
                }
                if (t == 0 || t == total - 1 || epochEnd) {
                    for (Param q : params) {
                        if (!allFinite(q.value())) {
                            throw new TrainingDivergedException("parameter " + q.name() + " not finite", s.epoch(), t,
                                    optimizer.learningRate());
                        }
                    }
                    float trainAcc = accuracyCheck.accuracy(this, train, numTrainSamples, batchSize);
                    float valAcc = accuracyCheck.accuracy(this, val, numValSamples, batchSize);
                    boolean improved = s.recordCheck(trainAcc, valAcc);
                    Path ckpt = checkpointName != null ? saveCheckpoint() : null;
                    TrainingListener.Check c = new TrainingListener.Check(s.epoch(), numEpochs, s.iteration(), trainAcc, valAcc,
                            improved, optimizer.learningRate(), ckpt);
                    for (TrainingListener l : ls) l.onCheck(this, c);
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            failure = e;
            throw e;
        } finally {
            for (TrainingListener l : ls) {
                try {
                    l.onTrainEnd(this);
                } catch (RuntimeException | Error e) {
                    if (failure == null) failure = e;
                    else if (failure != e) failure.addSuppressed(e);
                }
            }
            logger = null;
        }
        if (failure instanceof RuntimeException e) throw e; // an onTrainEnd failed after a clean run
        if (failure instanceof Error e) throw e;
        s.restoreBest();
    }

    /** True when every value of {@code t} is finite. */
    private static boolean allFinite(Tensor t) {
        java.lang.foreign.MemorySegment m = t.segment();
        for (long i = 0, n = t.size(); i < n; i++) {
            if (!Float.isFinite(m.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i))) return false;
        }
        return true;
    }

    /**
     * Rejects NaN or infinite input values before training: the backends do not treat them
     * alike (oneDNN's max pooling passes over a NaN that the Java backend propagates), so a
     * run on such data would depend on the backend.
     */
    private static void requireFinite(String what, Dataset d) {
        java.lang.foreign.MemorySegment m = d.x().segment();
        long per = d.size() == 0 ? 0 : d.x().size() / d.size();
        for (long i = 0, n = d.x().size(); i < n; i++) {
            float v = m.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("the " + what + " data holds " + v + " in example " + i / per + " (value "
                        + i % per + " of " + per + "): inputs must be finite numbers");
            }
        }
    }

    /** Loads the best validation parameters seen so far into the model (nothing if none yet). */
    public void restoreBest() {
        if (state != null) state.restoreBest();
    }

    /**
     * Classification accuracy of the model (evaluation mode, {@link Model#scores}) on a
     * dataset, in batches. When the dataset has more than {@code numSamples} examples, that
     * many are drawn at random (with replacement, from the solver's generator), as cs231n does.
     *
     * @param data       examples x (N, ...) and N labels
     * @param numSamples examples to draw, or null / 0 for all N
     * @param batchSize  examples per {@link Model#scores} call, &gt;= 1
     * @return fraction of examples whose highest score is their label
     */
    public float checkAccuracy(Dataset data, Integer numSamples, int batchSize) {
        checkOpen();
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        int n = data.size();
        if (n == 0) throw new IllegalArgumentException("cannot check accuracy on an empty dataset");
        int want = samples("numSamples", numSamples);
        if (want == 0 || n <= want) return (float) Evaluation.accuracy(model, data, batchSize);
        int[] mask = new int[want];
        Rng r = rng();
        for (int i = 0; i < want; i++) mask[i] = r.nextInt(n);
        Batcher b = evalBatcher(data, batchSize);
        boolean temporary = b == null;
        if (temporary) b = new Batcher(data, batchSize, r);
        try {
            int[] pred = new int[batchSize], labels = new int[batchSize];
            long correct = 0;
            for (int start = 0; start < want; start += batchSize) {
                int count = Math.min(batchSize, want - start);
                Tensor scores = model.scores(b.load(mask, start, count));
                if (scores.rank() != 2 || scores.dim(0) != count) {
                    throw new IllegalStateException("model.scores returned shape " + scores.shapeString() + " for a batch of "
                            + count + "; expected (" + count + ", numClasses)");
                }
                Evaluation.argmaxRows(scores, count, pred, 0);
                for (int i = 0; i < count; i++) if (pred[i] == b.y()[i]) correct++;
            }
            return (float) ((double) correct / want);
        } finally {
            if (temporary) b.close();
        }
    }

    /** Reused batch buffers for subsampled checks of the train and val sets. */
    private Batcher evalBatcher(Dataset data, int size) {
        if (data == train) {
            if (evalTrain == null || evalTrain.batchSize() != size) {
                if (evalTrain != null) evalTrain.close();
                evalTrain = new Batcher(train, size, rng());
            }
            return evalTrain;
        }
        if (data == val) {
            if (evalVal == null || evalVal.batchSize() != size) {
                if (evalVal != null) evalVal.close();
                evalVal = new Batcher(val, size, rng());
            }
            return evalVal;
        }
        return null;
    }

    // ------------------------------------------------------------------ checkpoints

    /** The path of the checkpoint for an epoch: {@code <checkpointName>_epoch_<e>.safetensors}. */
    public Path checkpointPath(int epoch) {
        if (checkpointName == null) throw new IllegalStateException("no checkpoint name set");
        return Path.of(checkpointName + "_epoch_" + epoch + ".safetensors");
    }

    /**
     * Writes the whole training state now to {@link #checkpointPath(int)} of the current
     * epoch (train() does this at every check when a checkpoint name is set).
     *
     * @return the file written
     */
    public Path saveCheckpoint() throws IOException {
        TrainingState s = init();
        Path file = checkpointPath(s.epoch());
        s.save(file);
        return file;
    }

    /**
     * Writes the whole training state to {@code file}, atomically ({@link TrainingState#save}).
     *
     * @param file the checkpoint to create or replace
     */
    public void saveCheckpoint(Path file) throws IOException {
        init().save(file);
    }

    /**
     * Loads a checkpoint written by {@link #saveCheckpoint} into this solver's state and model
     * ({@link TrainingState#load}), so that {@link #train()} continues the run where it
     * stopped. The update rule and hyperparameters, schedule, batch size, training-set size and
     * number of model generators must be those of the checkpoint; the checkpoint's learning
     * rates override {@code optimConfig}'s. Everything is checked before anything changes: on
     * an error the solver and model are as they were.
     *
     * @param checkpoint a file written by {@link #saveCheckpoint}
     */
    public void resume(Path checkpoint) throws IOException {
        init().load(checkpoint);
    }

    // ------------------------------------------------------------------ results

    /** The model being trained. */
    public Model model() { return model; }

    /**
     * The training state (created by the first {@link #train()}, {@link #resume},
     * checkpoint or this call; the options that shape it are fixed from then on).
     */
    public TrainingState state() { return init(); }

    /** The optimizer (created by the first {@link #train()} or {@link #resume}; null before). */
    public Optimizer optimizer() { return state == null ? null : state.optimizer(); }

    /** The parameters the optimizer steps (the model's, in {@link Model#params()} order). */
    public List<Param> params() { return state == null ? List.copyOf(model.params()) : state.params(); }

    /** The learning-rate schedule. */
    public LrSchedule schedule() { return schedule; }

    /** The current learning rate (the configured one before training starts). */
    public double learningRate() {
        if (state != null) return state.optimizer().learningRate();
        try (Optimizer o = Optimizers.create(updateRule, optimConfig)) {
            return o.learningRate();
        }
    }

    /** Loss of every iteration so far. */
    public List<Float> lossHistory() { return state == null ? List.of() : state.lossHistory(); }

    /** Train accuracy at every check so far. */
    public List<Float> trainAccHistory() { return state == null ? List.of() : state.trainAccHistory(); }

    /** Validation accuracy at every check so far. */
    public List<Float> valAccHistory() { return state == null ? List.of() : state.valAccHistory(); }

    /** Best validation accuracy so far (negative infinity before the first check). */
    public float bestValAcc() { return state == null ? Float.NEGATIVE_INFINITY : state.bestValAcc(); }

    /** Epochs completed. */
    public int epoch() { return state == null ? 0 : state.epoch(); }

    /** Iterations completed. */
    public int iteration() { return state == null ? 0 : state.iteration(); }

    /** The last checkpoint written or resumed from, or null. */
    public Path lastCheckpoint() { return state == null ? null : state.lastCheckpoint(); }

    /** The update-ratio monitor (after a {@link #train()} with {@link #monitorUpdateRatios} on), or null. */
    public UpdateRatioMonitor updateRatioMonitor() { return monitor; }

    /** Update/weight ratios measured so far, by param name, one per measured iteration. */
    public Map<String, List<Float>> updateRatioHistory() { return monitor == null ? Map.of() : monitor.history(); }

    /** The iterations (1-based counts) at which the ratios were measured. */
    public List<Integer> updateRatioIterations() { return monitor == null ? List.of() : monitor.iterations(); }

    /** The latest update/weight ratio of each param (empty before the first measurement). */
    public Map<String, Float> updateRatios() { return monitor == null ? Map.of() : monitor.latest(); }

    /** Frees the solver's buffers and training state (not the model, not added listeners). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (state != null) state.close();
        if (monitor != null) monitor.close();
        for (Batcher b : new Batcher[] {batcher, evalTrain, evalVal}) if (b != null) b.close();
        batcher = evalTrain = evalVal = null;
        if (loader != null) loader.close();
        loader = null;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("solver is closed");
    }
}
