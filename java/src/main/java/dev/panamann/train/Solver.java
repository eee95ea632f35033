package dev.panamann.train;

import dev.panamann.data.Batcher;
import dev.panamann.data.Dataset;
import dev.panamann.io.ModelIO;
import dev.panamann.io.SafeTensors;
import dev.panamann.tensor.Param;
import dev.panamann.models.Model;
import dev.panamann.optim.Optimizer;
import dev.panamann.optim.Optimizers;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.io.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 *         .lrDecay(0.95)
 *         .batchSize(100)
 *         .numEpochs(10)
 *         .printEvery(100)) {
 *     solver.train();          // the model now holds the best validation parameters
 *     Plots.lossCurve(solver.lossHistory(), Path.of("loss.png"));
 * }
 * }</pre>
 *
 * <p>{@link #train()} runs {@code numEpochs * max(numTrain / batchSize, 1)} iterations. Each
 * draws a minibatch of {@code batchSize} training examples at random with replacement (a
 * {@link Batcher} on the solver's seeded {@link Rng}), runs {@link Model#loss} and one update of
 * the optimizer. At the end of each epoch the learning rate is multiplied by {@code lrDecay}.
 * After the first iteration, after the last and at the end of every epoch the accuracy is
 * checked on {@code numTrainSamples} random training examples and on the validation set
 * ({@code numValSamples} of them, or all), evaluated in batches of {@code batchSize} (cs231n uses
 * 100; the same size as training keeps the model's buffers), the histories grow, the parameters are kept (as
 * off-heap copies) when the validation accuracy is the best so far, and a checkpoint is written
 * when {@code checkpointName} is set. When training ends the model holds the best parameters.
 *
 * <p>Checkpoints ({@code <checkpointName>_epoch_<e>.safetensors}, written atomically) hold the
 * model's parameters, the optimizer's state, the best parameters and accuracy, epoch,
 * iteration, learning rate, histories, the solver's RNG state and the states of the model's
 * own generators ({@link Model#generators()}: dropout masks). A new solver with the same model
 * architecture, data and options continues an interrupted run exactly with
 * {@link #resume(Path)} followed by {@link #train()}: the parameters end bit-identical to a run
 * that never stopped, with or without dropout. {@code numEpochs} may be larger than when the
 * checkpoint was written, to train further.
 *
 * <p>Progress: with {@code verbose} on a terminal, a progress bar (epoch, step, loss, images/s,
 * ETA) redrawn in place; otherwise plain lines every {@code printEvery} iterations
 * ({@code (Iteration i / T) loss: x, images/s, ETA}) and at each check
 * ({@code (Epoch e / E) train acc: a; val_acc: v}). A {@link Listener} sees every iteration and
 * check. With {@link #monitorUpdateRatios(boolean)} the ratio ||update|| / ||w|| of each
 * parameter (cs231n notes: about 1e-3 is healthy) is measured every {@code printEvery}
 * iterations, logged and kept.
 *
 * <p>Configure before training: the setters return the solver and check their argument at
 * once ({@link IllegalArgumentException}); the rule, optim config, batch size and seed can no
 * longer change once training or a resume started ({@link IllegalStateException}). The solver
 * owns its batch buffers, optimizer state and best-parameter copies ({@link #close()}); the
 * model and datasets stay the caller's.
 */
public final class Solver implements AutoCloseable {
    /** Metadata value identifying checkpoints. */
    public static final String CHECKPOINT_FORMAT = "panama-nn-checkpoint";
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    // ------------------------------------------------------------------ configuration
    private final Model model;
    private final Dataset train, val;
    private String updateRule = "sgd";
    private Map<String, Number> optimConfig = Map.of();
    private double lrDecay = 1.0;
    private int batchSize = 100;
    private int numEpochs = 10;
    private int printEvery = 10;
    private int numTrainSamples = 1000;
    private int numValSamples = 0;
    private String checkpointName;
    private boolean verbose = true;
    private long seed = 0;
    private boolean monitorUpdates;
    private PrintStream out = System.out;
    private Boolean progressBar;
    private Listener listener;

    // ------------------------------------------------------------------ state
    private Optimizer optimizer;
    private Rng rng;
    private Batcher batcher, evalTrain, evalVal;
    private List<Param> params;
    private Tensor[] best, snapshot;
    private boolean flip;
    /** The model's params and buffers by name ({@link ModelIO#state}); best holds copies of them. */
    private Map<String, Tensor> state;
    private List<Tensor> stateValues;
    private boolean hasBest;
    private float bestValAcc = Float.NEGATIVE_INFINITY;
    private int epoch, iteration;
    private final List<Float> lossHistory = new ArrayList<>();
    private final List<Float> trainAccHistory = new ArrayList<>();
    private final List<Float> valAccHistory = new ArrayList<>();
    private final Map<String, List<Float>> ratioHistory = new LinkedHashMap<>();
    private final List<Integer> ratioIterations = new ArrayList<>();
    private Path lastCheckpoint;
    private boolean closed;

    /** Sees the progress of {@link #train()}; every method defaults to doing nothing. */
    public interface Listener {
        /**
         * After the forward and backward pass of an iteration, before the optimizer reads the
         * gradients: every {@link Param#grad()} holds this minibatch's gradient (the place for
         * a distributed all-reduce of {@link Model#gradients()}).
         *
         * @param iteration 0-based index of the iteration
         * @param loss      this minibatch's loss
         */
        default void afterBackward(int iteration, float loss) {}

        /** After every iteration (before the accuracy check that may follow it). */
        default void onIteration(Progress p) {}

        /** After every accuracy check (and its checkpoint, if any). */
        default void onCheck(Check c) {}
    }

    /**
     * One iteration done.
     *
     * @param iteration       iterations done so far (1 after the first)
     * @param numIterations   iterations of the whole run
     * @param epoch           epochs completed
     * @param numEpochs       epochs of the whole run
     * @param loss            this iteration's loss
     * @param imagesPerSecond training throughput of this {@code train()} call (checks excluded)
     * @param etaSeconds      estimated time to the end of the run
     */
    public record Progress(int iteration, int numIterations, int epoch, int numEpochs, float loss, double imagesPerSecond,
                           double etaSeconds) {}

    /**
     * One accuracy check done.
     *
     * @param epoch        epochs completed
     * @param numEpochs    epochs of the whole run
     * @param iteration    iterations done
     * @param trainAcc     accuracy on the training subsample
     * @param valAcc       validation accuracy
     * @param improved     whether this is the best validation accuracy so far
     * @param learningRate the learning rate after this epoch's decay
     * @param checkpoint   the checkpoint written, or null
     */
    public record Check(int epoch, int numEpochs, int iteration, float trainAcc, float valAcc, boolean improved,
                        double learningRate, Path checkpoint) {}

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

    /** Factor applied to the learning rate after every epoch (default 1: no decay); &gt; 0. */
    public Solver lrDecay(double decay) {
        if (!(decay > 0) || !Double.isFinite(decay)) throw new IllegalArgumentException("lrDecay must be a finite number > 0, got " + decay);
        this.lrDecay = decay;
        return this;
    }

    /** Minibatch size (default 100); &gt;= 1. */
    public Solver batchSize(int n) {
        requireNotStarted("batchSize");
        if (n < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + n);
        this.batchSize = n;
        return this;
    }

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

    /** Measure ||update|| / ||w|| per parameter every {@code printEvery} iterations (default off). */
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

    /** A listener for every iteration and check; null for none. */
    public Solver listener(Listener l) {
        this.listener = l;
        return this;
    }

    private void requireNotStarted(String what) {
        if (optimizer != null) throw new IllegalStateException("cannot change " + what + " after training or resume started");
    }

    // ------------------------------------------------------------------ training

    /** Creates the optimizer, generator, batch buffers and best-parameter copies (once). */
    private void init() {
        checkOpen();
        if (optimizer != null) return;
        Optimizer opt = Optimizers.create(updateRule, optimConfig); // validates rule and config
        params = List.copyOf(model.params());
        try {
            opt.prepare(params);
            rng();
            batcher = new Batcher(train, batchSize, rng).flipHorizontal(flip);
            state = ModelIO.state(model);
            stateValues = List.copyOf(state.values());
            best = new Tensor[stateValues.size()];
            for (int i = 0; i < best.length; i++) best[i] = Tensor.zeros(stateValues.get(i).shape());
        } catch (RuntimeException e) {
            opt.close();
            freeBuffers();
            throw e;
        }
        optimizer = opt;
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
        init();
        int perEpoch = iterationsPerEpoch(), total = numIterations();
        ProgressPrinter printer = verbose ? new ProgressPrinter(useBar(), perEpoch, total) : null;
        long start = System.nanoTime(), trainNanos = 0;
        int startIt = iteration;
        try {
            for (int t = iteration; t < total; t++) {
                boolean monitor = monitorUpdates && t % printEvery == 0;
                long s0 = System.nanoTime();
                float loss = step(monitor);
                trainNanos += System.nanoTime() - s0;
                iteration = t + 1;
                int done = iteration - startIt;
                double elapsed = (System.nanoTime() - start) / 1e9;
                double ips = trainNanos > 0 ? (double) done * batchSize / (trainNanos / 1e9) : 0;
                double eta = elapsed / done * (total - iteration);
                if (printer != null) {
                    printer.iteration(t, loss, ips, eta);
                    if (monitor) printer.line(ratioLine());
                }
                if (listener != null) listener.onIteration(new Progress(iteration, total, epoch, numEpochs, loss, ips, eta));

                boolean epochEnd = (t + 1) % perEpoch == 0;
                if (epochEnd) {
                    epoch++;
                    optimizer.setLearningRate(optimizer.learningRate() * lrDecay);
                }
                if (t == 0 || t == total - 1 || epochEnd) {
                    float trainAcc = checkAccuracy(train, numTrainSamples, batchSize);
                    float valAcc = checkAccuracy(val, numValSamples, batchSize);
                    trainAccHistory.add(trainAcc);
                    valAccHistory.add(valAcc);
                    boolean improved = valAcc > bestValAcc;
                    if (improved) {
                        bestValAcc = valAcc;
                        for (int i = 0; i < best.length; i++) best[i].copyFrom(stateValues.get(i));
                        hasBest = true;
                    }
                    Path ckpt = checkpointName != null ? saveCheckpoint() : null;
                    if (printer != null) {
                        printer.line(String.format(Locale.ROOT, "(Epoch %d / %d) train acc: %f; val_acc: %f", epoch, numEpochs,
                                trainAcc, valAcc));
                    }
                    if (listener != null) {
                        listener.onCheck(new Check(epoch, numEpochs, iteration, trainAcc, valAcc, improved,
                                optimizer.learningRate(), ckpt));
                    }
                }
            }
        } finally {
            if (printer != null) printer.finish();
        }
        restoreBest();
    }

    /** Loads the best validation parameters seen so far into the model (nothing if none yet). */
    public void restoreBest() {
        if (!hasBest) return;
        for (int i = 0; i < best.length; i++) stateValues.get(i).copyFrom(best[i]);
    }

    private float step(boolean monitor) {
        batcher.sample();
        float loss = model.loss(batcher.x(), batcher.y());
        if (listener != null) listener.afterBackward(iteration, loss);
        lossHistory.add(loss);
        if (monitor) {
            if (snapshot == null) {
                snapshot = new Tensor[params.size()];
                for (int i = 0; i < snapshot.length; i++) snapshot[i] = Tensor.zeros(params.get(i).value().shape());
            }
            for (int i = 0; i < snapshot.length; i++) snapshot[i].copyFrom(params.get(i).value());
        }
        optimizer.step(params);
        if (monitor) {
            for (int i = 0; i < snapshot.length; i++) {
                Param p = params.get(i);
                ratioHistory.computeIfAbsent(p.name(), k -> new ArrayList<>()).add(updateRatio(p.value(), snapshot[i]));
            }
            ratioIterations.add(iteration + 1);
        }
        return loss;
    }

    /** ||w - before|| / ||before||. */
    private static float updateRatio(Tensor w, Tensor before) {
        MemorySegment a = w.segment(), b = before.segment();
        int n = w.sizeInt();
        double du = 0, dw = 0;
        for (int i = 0; i < n; i++) {
            float x = b.getAtIndex(F, i);
            float d = a.getAtIndex(F, i) - x;
            du += (double) d * d;
            dw += (double) x * x;
        }
        return (float) (Math.sqrt(du) / Math.sqrt(dw));
    }

    private String ratioLine() {
        StringBuilder sb = new StringBuilder("  update/weight ratio:");
        for (var e : ratioHistory.entrySet()) {
            sb.append(' ').append(e.getKey()).append(' ')
                    .append(String.format(Locale.ROOT, "%.2e", e.getValue().get(e.getValue().size() - 1)));
        }
        return sb.toString();
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
        int[] mask = null;
        if (want > 0 && n > want) {
            mask = new int[want];
            Rng r = rng();
            for (int i = 0; i < want; i++) mask[i] = r.nextInt(n);
            n = want;
        }
        Batcher b = null;
        boolean temporary = false;
        if (mask != null) {
            b = evalBatcher(data, batchSize);
            if (b == null) {
                b = new Batcher(data, batchSize, rng());
                temporary = true;
            }
        }
        try {
            long correct = 0;
            int[] labels = data.y();
            for (int start = 0; start < n; start += batchSize) {
                int count = Math.min(batchSize, n - start);
                Tensor x = mask != null ? b.load(mask, start, count) : data.x().slice(start, start + count);
                Tensor scores = model.scores(x);
                if (scores.rank() != 2 || scores.dim(0) != count) {
                    throw new IllegalStateException("model.scores returned shape " + scores.shapeString() + " for a batch of "
                            + count + "; expected (" + count + ", numClasses)");
                }
                int c = scores.dim(1);
                MemorySegment s = scores.segment();
                for (int i = 0; i < count; i++) {
                    int arg = 0;
                    float max = s.getAtIndex(F, (long) i * c);
                    for (int j = 1; j < c; j++) {
                        float v = s.getAtIndex(F, (long) i * c + j);
                        if (v > max) {
                            max = v;
                            arg = j;
                        }
                    }
                    int label = mask != null ? b.y()[i] : labels[start + i];
                    if (arg == label) correct++;
                }
            }
            return (float) ((double) correct / n);
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

    private boolean useBar() {
        if (progressBar != null) return progressBar;
        if (out != System.out) return false;
        Console c = System.console();
        return c != null && c.isTerminal();
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
        init();
        Path file = checkpointPath(epoch);
        saveCheckpoint(file);
        return file;
    }

    /**
     * Writes the whole training state to {@code file}, atomically.
     *
     * @param file the checkpoint to create or replace
     */
    public void saveCheckpoint(Path file) throws IOException {
        init();
        Map<String, Tensor> tensors = ModelIO.prefixed(state, "param/");
        if (hasBest) {
            int i = 0;
            for (String name : state.keySet()) tensors.put("best/" + name, best[i++]);
        }
        Optimizer.State os = optimizer.exportState();
        for (var e : os.tensors().entrySet()) tensors.put("optim/" + e.getKey(), e.getValue());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", CHECKPOINT_FORMAT);
        meta.put("version", "1");
        meta.put("update_rule", optimizer.rule());
        meta.put("epoch", Integer.toString(epoch));
        meta.put("iteration", Integer.toString(iteration));
        meta.put("num_epochs", Integer.toString(numEpochs));
        meta.put("batch_size", Integer.toString(batchSize));
        meta.put("num_train", Integer.toString(train.size()));
        meta.put("lr_decay", Double.toString(lrDecay));
        meta.put("has_best", Boolean.toString(hasBest));
        meta.put("best_val_acc", Float.toString(bestValAcc));
        long[] r = rng().getState();
        meta.put("rng_state", r[0] + "," + r[1] + "," + r[2]);
        List<String> modelRngs = new ArrayList<>();
        for (Rng g : model.generators()) {
            long[] gs = g.getState();
            modelRngs.add(gs[0] + "," + gs[1] + "," + gs[2]);
        }
        meta.put("model_rng_states", String.join(";", modelRngs));
        meta.put("loss_history", floats(lossHistory));
        meta.put("train_acc_history", floats(trainAccHistory));
        meta.put("val_acc_history", floats(valAccHistory));
        for (var e : os.scalars().entrySet()) meta.put("optim/" + e.getKey(), e.getValue());
        SafeTensors.save(file, tensors, meta);
        lastCheckpoint = file;
    }

    /**
     * Loads a checkpoint written by {@link #saveCheckpoint} into this solver and its model, so
     * that {@link #train()} continues the run where it stopped: parameters, optimizer state and
     * learning rate (the checkpoint's, which overrides {@code optimConfig}'s), epoch, iteration,
     * histories, best parameters and accuracy, and the generator states (the solver's and the
     * model's {@link Model#generators()}, so dropout masks replay). The update rule, batch size,
     * training-set size and number of model generators must be those of the checkpoint. Everything is checked before
     * anything changes: on an error the solver and model are as they were.
     *
     * @param checkpoint a file written by {@link #saveCheckpoint}
     */
    public void resume(Path checkpoint) throws IOException {
        init();
        SafeTensors.Header h = SafeTensors.readHeader(checkpoint);
        Map<String, String> m = h.metadata();
        if (!CHECKPOINT_FORMAT.equals(m.get("format"))) {
            throw new IllegalArgumentException(checkpoint + " is not a solver checkpoint (metadata format is '" + m.get("format")
                    + "', expected '" + CHECKPOINT_FORMAT + "')");
        }
        String rule = meta(checkpoint, m, "update_rule");
        if (!rule.equals(optimizer.rule())) {
            throw new IllegalArgumentException(checkpoint + " was written with update rule '" + rule + "' but this solver uses '"
                    + optimizer.rule() + "'");
        }
        int ckBatch = intMeta(checkpoint, m, "batch_size"), ckTrain = intMeta(checkpoint, m, "num_train");
        if (ckBatch != batchSize) {
            throw new IllegalArgumentException(checkpoint + " was written with batch size " + ckBatch + " but this solver has "
                    + batchSize);
        }
        if (ckTrain != train.size()) {
            throw new IllegalArgumentException(checkpoint + " was written for a training set of " + ckTrain
                    + " examples but this one has " + train.size());
        }
        int ckEpoch = intMeta(checkpoint, m, "epoch"), ckIteration = intMeta(checkpoint, m, "iteration");
        boolean ckHasBest = Boolean.parseBoolean(meta(checkpoint, m, "has_best"));
        float ckBest = parseFloat(checkpoint, "best_val_acc", meta(checkpoint, m, "best_val_acc"));
        long[] ckRng = parseRng(checkpoint, "rng_state", meta(checkpoint, m, "rng_state"));
        List<Rng> generators = model.generators();
        List<long[]> ckModelRngs = new ArrayList<>();
        String mr = m.getOrDefault("model_rng_states", "");
        if (!mr.isEmpty()) for (String one : mr.split(";")) ckModelRngs.add(parseRng(checkpoint, "model_rng_states", one));
        if (ckModelRngs.size() != generators.size()) {
            throw new IllegalArgumentException(checkpoint + " holds the state of " + ckModelRngs.size()
                    + " model random generator(s) (dropout masks) but this model has " + generators.size()
                    + ": resume with the model of the interrupted run");
        }
        List<Float> ckLoss = parseFloats(checkpoint, "loss_history", meta(checkpoint, m, "loss_history"));
        List<Float> ckTrainAcc = parseFloats(checkpoint, "train_acc_history", meta(checkpoint, m, "train_acc_history"));
        List<Float> ckValAcc = parseFloats(checkpoint, "val_acc_history", meta(checkpoint, m, "val_acc_history"));
        ModelIO.check(state, h, "param/");
        if (ckHasBest) ModelIO.check(state, h, "best/");
        try (SafeTensors.Contents c = SafeTensors.load(checkpoint)) {
            Map<String, Tensor> ot = new LinkedHashMap<>();
            Map<String, String> os = new LinkedHashMap<>();
            for (var e : c.tensors().entrySet()) if (e.getKey().startsWith("optim/")) ot.put(e.getKey().substring(6), e.getValue());
            for (var e : m.entrySet()) if (e.getKey().startsWith("optim/")) os.put(e.getKey().substring(6), e.getValue());
            try {
                optimizer.importState(params, new Optimizer.State(ot, os)); // checks everything before it copies
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(checkpoint + ": " + e.getMessage(), e);
            }
            // nothing below can fail
            int i = 0;
            for (var e : state.entrySet()) {
                e.getValue().copyFrom(c.tensors().get("param/" + e.getKey()));
                if (ckHasBest) best[i].copyFrom(c.tensors().get("best/" + e.getKey()));
                i++;
            }
        }
        hasBest = ckHasBest;
        bestValAcc = ckBest;
        epoch = ckEpoch;
        iteration = ckIteration;
        rng.setState(ckRng);
        for (int g = 0; g < generators.size(); g++) generators.get(g).setState(ckModelRngs.get(g));
        lossHistory.clear();
        lossHistory.addAll(ckLoss);
        trainAccHistory.clear();
        trainAccHistory.addAll(ckTrainAcc);
        valAccHistory.clear();
        valAccHistory.addAll(ckValAcc);
        lastCheckpoint = checkpoint;
    }

    private static String meta(Path f, Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null) throw new IllegalArgumentException(f + ": checkpoint metadata lacks '" + key + "'");
        return v;
    }

    private static int intMeta(Path f, Map<String, String> m, String key) {
        String v = meta(f, m, key);
        try {
            int i = Integer.parseInt(v);
            if (i < 0) throw new NumberFormatException();
            return i;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(f + ": checkpoint metadata '" + key + "' is not a count: " + v, e);
        }
    }

    private static float parseFloat(Path f, String key, String v) {
        try {
            return Float.parseFloat(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(f + ": checkpoint metadata '" + key + "' holds '" + v + "', not a number", e);
        }
    }

    private static long[] parseRng(Path f, String key, String v) {
        String[] p = v.split(",");
        if (p.length != 3) throw new IllegalArgumentException(f + ": checkpoint " + key + " '" + v + "' is not three numbers");
        long[] r = new long[3];
        try {
            for (int i = 0; i < 3; i++) r[i] = Long.parseLong(p[i].trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(f + ": checkpoint " + key + " '" + v + "' is not three numbers", e);
        }
        return r;
    }

    /** A JSON array of floats (NaN and Infinity as Python's json writes them), exact in both directions. */
    static String floats(List<Float> l) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < l.size(); i++) {
            if (i > 0) sb.append(", ");
            sb.append(Float.toString(l.get(i)));
        }
        return sb.append(']').toString();
    }

    static List<Float> parseFloats(Path f, String key, String v) {
        String s = v.trim();
        if (!s.startsWith("[") || !s.endsWith("]")) {
            throw new IllegalArgumentException(f + ": checkpoint metadata '" + key + "' is not an array");
        }
        s = s.substring(1, s.length() - 1).trim();
        List<Float> r = new ArrayList<>();
        if (s.isEmpty()) return r;
        for (String part : s.split(",")) r.add(parseFloat(f, key, part));
        return r;
    }

    // ------------------------------------------------------------------ results

    /** The model being trained. */
    public Model model() { return model; }

    /** The optimizer (created by the first {@link #train()} or {@link #resume}; null before). */
    public Optimizer optimizer() { return optimizer; }

    /** The current learning rate (the configured one before training starts). */
    public double learningRate() {
        if (optimizer != null) return optimizer.learningRate();
        try (Optimizer o = Optimizers.create(updateRule, optimConfig)) {
            return o.learningRate();
        }
    }

    /** Loss of every iteration so far. */
    public List<Float> lossHistory() { return Collections.unmodifiableList(lossHistory); }

    /** Train accuracy at every check so far. */
    public List<Float> trainAccHistory() { return Collections.unmodifiableList(trainAccHistory); }

    /** Validation accuracy at every check so far. */
    public List<Float> valAccHistory() { return Collections.unmodifiableList(valAccHistory); }

    /** Best validation accuracy so far (negative infinity before the first check). */
    public float bestValAcc() { return bestValAcc; }

    /** Epochs completed. */
    public int epoch() { return epoch; }

    /** Iterations completed. */
    public int iteration() { return iteration; }

    /** The last checkpoint written or resumed from, or null. */
    public Path lastCheckpoint() { return lastCheckpoint; }

    /** Update/weight ratios measured so far, by param name, one per measured iteration. */
    public Map<String, List<Float>> updateRatioHistory() {
        Map<String, List<Float>> m = new LinkedHashMap<>();
        ratioHistory.forEach((k, v) -> m.put(k, Collections.unmodifiableList(v)));
        return Collections.unmodifiableMap(m);
    }

    /** The iterations (1-based counts) at which the ratios were measured. */
    public List<Integer> updateRatioIterations() { return Collections.unmodifiableList(ratioIterations); }

    /** The latest update/weight ratio of each param (empty before the first measurement). */
    public Map<String, Float> updateRatios() {
        Map<String, Float> m = new LinkedHashMap<>();
        ratioHistory.forEach((k, v) -> m.put(k, v.get(v.size() - 1)));
        return m;
    }

    /** Frees the solver's buffers, optimizer state and best-parameter copies (not the model). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (optimizer != null) optimizer.close();
        freeBuffers();
    }

    private void freeBuffers() {
        for (Batcher b : new Batcher[] {batcher, evalTrain, evalVal}) if (b != null) b.close();
        batcher = evalTrain = evalVal = null;
        for (Tensor[] ts : new Tensor[][] {best, snapshot}) if (ts != null) for (Tensor t : ts) if (t != null) t.close();
        best = snapshot = null;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("solver is closed");
    }

    // ------------------------------------------------------------------ progress output

    /** Progress bar on a terminal, plain lines otherwise. */
    private final class ProgressPrinter {
        private final boolean bar;
        private final int perEpoch, total;
        private long lastDraw;
        private int drawnWidth;

        ProgressPrinter(boolean bar, int perEpoch, int total) {
            this.bar = bar;
            this.perEpoch = perEpoch;
            this.total = total;
        }

        void iteration(int t, float loss, double ips, double eta) {
            if (!bar) {
                if (t % printEvery == 0) {
                    out.printf(Locale.ROOT, "(Iteration %d / %d) loss: %f, %.1f images/s, ETA %s%n", t + 1, total, loss, ips,
                            time(eta));
                }
                return;
            }
            long now = System.nanoTime();
            int inEpoch = t % perEpoch + 1;
            if (now - lastDraw < 100_000_000L && inEpoch != perEpoch && t != total - 1) return;
            lastDraw = now;
            int width = 30, filled = (int) ((long) width * inEpoch / perEpoch);
            String s = String.format(Locale.ROOT, "Epoch %d/%d [%s%s] %d/%d loss %.4f | %.0f img/s | ETA %s",
                    Math.min(epoch + 1, numEpochs), numEpochs, "=".repeat(filled), " ".repeat(width - filled), inEpoch, perEpoch,
                    loss, ips, time(eta));
            draw(s);
        }

        private void draw(String s) {
            int pad = Math.max(0, drawnWidth - s.length());
            out.print("\r" + s + " ".repeat(pad));
            out.flush();
            drawnWidth = s.length();
        }

        /** A whole line (above the bar, which is redrawn by the next iteration). */
        void line(String s) {
            if (bar && drawnWidth > 0) {
                out.print("\r" + " ".repeat(drawnWidth) + "\r");
                drawnWidth = 0;
                lastDraw = 0;
            }
            out.println(s);
        }

        void finish() {
            if (bar && drawnWidth > 0) out.println();
            out.flush();
        }
    }

    /** Seconds as h:mm:ss. */
    static String time(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) return "?";
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }
}
