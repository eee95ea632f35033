package dev.panamann.train;

import dev.panamann.io.ModelIO;
import dev.panamann.io.SafeTensors;
import dev.panamann.models.Model;
import dev.panamann.models.StateDicts;
import dev.panamann.optim.LrSchedule;
import dev.panamann.optim.Optimizer;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Everything a training run has that is not configuration: the model's state (parameters and
 * buffers, by name), the optimizer and its state, the random generators (the solver's and the
 * model's own, which draw dropout masks), epoch and iteration counts, the loss and accuracy
 * histories, and the best validation accuracy with a copy of the model state that reached it.
 * A {@link Solver} advances it; {@link #save} and {@link #load} are the one checkpoint codec.
 *
 * <h2>Checkpoint format</h2>
 * A safetensors file (written atomically) with metadata {@code format = }{@value #FORMAT},
 * {@code version = }{@value #VERSION} and tensors:
 * <ul>
 *   <li>{@code param/<name>}: the model state ({@link Model#stateDict()}: params, then buffers);</li>
 *   <li>{@code best/<name>}: the best model state, when a check happened;</li>
 *   <li>{@code optim/<param>/<slot>}: the optimizer's per-parameter state.</li>
 * </ul>
 * Metadata: {@code epoch}, {@code iteration}, {@code initial_learning_rate}, {@code has_best},
 * {@code best_val_acc}, {@code rng_state}, {@code model_rng_states}, the three histories
 * (JSON arrays, exact floats), {@code optim/rule}, {@code optim/learning_rate},
 * {@code optim/<param>/t} (the optimizer's {@link Optimizer#stateDict()} besides its tensors)
 * and {@code run/<key>} for each of the run's {@link #settings()}. The augmentation's random
 * stream ({@link dev.panamann.data.AugmentingLoader}) is a function of its seed, stored in
 * {@code run/augmentation}, and the iteration: restoring the iteration restores it. Loading checks everything
 * (format, version, settings, names and shapes of every tensor, generator counts) before it
 * changes anything, and throws {@link IllegalArgumentException} naming the file and the
 * mismatch: a failed load leaves the state, model and optimizer as they were.
 *
 * <p>Older checkpoints load too: those written with a model's {@link Model#legacyNames()}
 * (before the module-tree names: {@code param/W1}, {@code optim/W1/m}, ...), and version 1
 * checkpoints, which lack the settings and the initial learning rate: their update rule, batch
 * size, training-set size and learning-rate decay are checked, the initial rate must be this
 * run's (checked against the stored rate), other hyperparameters (momentum, betas) are not
 * checked.
 */
public final class TrainingState implements AutoCloseable {
    /** Metadata {@code format} of checkpoints. */
    public static final String FORMAT = "panama-nn-checkpoint";
    /** Metadata {@code version} of checkpoints written (version 1 is read too). */
    public static final String VERSION = "2";

    private final Model model;
    private final Optimizer optimizer;
    private final List<Param> params;
    private final Rng rng;
    private final Map<String, String> settings;
    private final Map<String, Tensor> modelState;
    private final List<Tensor> stateValues;
    private final Tensor[] best;
    private double initialLearningRate;
    private boolean hasBest;
    private float bestValAcc = Float.NEGATIVE_INFINITY;
    private int epoch, iteration;
    private final List<Float> lossHistory = new ArrayList<>();
    private final List<Float> trainAccHistory = new ArrayList<>();
    private final List<Float> valAccHistory = new ArrayList<>();
    private Path lastCheckpoint;
    private boolean closed;

    /**
     * A fresh state (epoch 0, empty histories). Allocates the optimizer's state for every
     * parameter and a best-state copy of the model state.
     *
     * @param model     the model (stays the caller's)
     * @param optimizer the optimizer; the state owns it from now on and closes it
     * @param rng       the run's generator (minibatches, subsamples)
     * @param settings  what a checkpoint must agree with to be loaded into this state
     *                  (e.g. {@code batch_size}), saved as {@code run/<key>}
     */
    public TrainingState(Model model, Optimizer optimizer, Rng rng, Map<String, String> settings) {
        if (model == null || optimizer == null || rng == null) {
            throw new IllegalArgumentException("model, optimizer and generator are required (got null)");
        }
        this.model = model;
        this.optimizer = optimizer;
        this.rng = rng;
        this.settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings));
        this.params = List.copyOf(model.params());
        this.modelState = Collections.unmodifiableMap(model.stateDict());
        this.stateValues = List.copyOf(modelState.values());
        this.initialLearningRate = optimizer.learningRate();
        this.best = new Tensor[stateValues.size()];
        try {
            optimizer.prepare(params);
            for (int i = 0; i < best.length; i++) best[i] = Tensor.zeros(stateValues.get(i).shape());
        } catch (RuntimeException e) {
            freeBest();
            throw e;
        }
    }

    // ------------------------------------------------------------------ reading

    /** The model being trained. */
    public Model model() { return model; }

    /** The optimizer (owned by this state). */
    public Optimizer optimizer() { return optimizer; }

    /** The parameters the optimizer steps, in {@link Model#params()} order. */
    public List<Param> params() { return params; }

    /** The run's generator (minibatches, subsamples). */
    public Rng rng() { return rng; }

    /** The model state by name: params, then buffers (live tensors of the model). */
    public Map<String, Tensor> modelState() { return modelState; }

    /** The settings a checkpoint must agree with. */
    public Map<String, String> settings() { return settings; }

    /** Epochs completed. */
    public int epoch() { return epoch; }

    /** Iterations completed. */
    public int iteration() { return iteration; }

    /** The learning rate the run started with (schedules count from it). */
    public double initialLearningRate() { return initialLearningRate; }

    /** Loss of every iteration so far. */
    public List<Float> lossHistory() { return Collections.unmodifiableList(lossHistory); }

    /** Train accuracy at every check so far. */
    public List<Float> trainAccHistory() { return Collections.unmodifiableList(trainAccHistory); }

    /** Validation accuracy at every check so far. */
    public List<Float> valAccHistory() { return Collections.unmodifiableList(valAccHistory); }

    /** Whether a best state was kept (after the first check). */
    public boolean hasBest() { return hasBest; }

    /** Best validation accuracy so far (negative infinity before the first check). */
    public float bestValAcc() { return bestValAcc; }

    /** The last checkpoint written or loaded, or null. */
    public Path lastCheckpoint() { return lastCheckpoint; }

    // ------------------------------------------------------------------ advancing

    /** One iteration done with this loss. */
    public void recordStep(float loss) {
        checkOpen();
        lossHistory.add(loss);
        iteration++;
    }

    /** One epoch done. */
    public void recordEpoch() {
        checkOpen();
        epoch++;
    }

    /**
     * One accuracy check done: extends the histories and, when {@code valAcc} beats the best so
     * far, copies the model state as the best.
     *
     * @return whether {@code valAcc} is a new best
     */
    public boolean recordCheck(float trainAcc, float valAcc) {
        checkOpen();
        trainAccHistory.add(trainAcc);
        valAccHistory.add(valAcc);
        if (!(valAcc > bestValAcc)) return false;
        bestValAcc = valAcc;
        for (int i = 0; i < best.length; i++) best[i].copyFrom(stateValues.get(i));
        hasBest = true;
        return true;
    }

    /** Copies the best model state into the model (nothing when there is none yet). */
    public void restoreBest() {
        checkOpen();
        if (!hasBest) return;
        for (int i = 0; i < best.length; i++) stateValues.get(i).copyFrom(best[i]);
    }

    // ------------------------------------------------------------------ the checkpoint codec

    /**
     * Writes the whole state to {@code file}, atomically (a crash leaves the old file or the
     * new one, never a torn one).
     *
     * @param file the checkpoint to create or replace
     */
    public void save(Path file) throws IOException {
        checkOpen();
        Map<String, Tensor> tensors = ModelIO.prefixed(modelState, "param/");
        if (hasBest) {
            int i = 0;
            for (String name : modelState.keySet()) tensors.put("best/" + name, best[i++]);
        }
        Optimizer.StateDict os = optimizer.stateDict();
        for (Optimizer.ParamState ps : os.params()) {
            for (int j = 0; j < os.slotNames().size(); j++) tensors.put("optim/" + ps.param() + "/" + os.slotNames().get(j), ps.slots().get(j));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("version", VERSION);
        for (var e : settings.entrySet()) meta.put("run/" + e.getKey(), e.getValue());
        meta.put("epoch", Integer.toString(epoch));
        meta.put("iteration", Integer.toString(iteration));
        meta.put("initial_learning_rate", Double.toString(initialLearningRate));
        meta.put("has_best", Boolean.toString(hasBest));
        meta.put("best_val_acc", Float.toString(bestValAcc));
        meta.put("rng_state", rngString(rng));
        List<String> modelRngs = new ArrayList<>();
        for (Rng g : model.generators()) modelRngs.add(rngString(g));
        meta.put("model_rng_states", String.join(";", modelRngs));
        meta.put("loss_history", floats(lossHistory));
        meta.put("train_acc_history", floats(trainAccHistory));
        meta.put("val_acc_history", floats(valAccHistory));
        meta.put("optim/rule", os.rule());
        meta.put("optim/learning_rate", Double.toString(os.learningRate()));
        for (Optimizer.ParamState ps : os.params()) meta.put("optim/" + ps.param() + "/t", Long.toString(ps.steps()));
        SafeTensors.save(file, tensors, meta);
        lastCheckpoint = file;
    }

    /**
     * Replaces this state with the one saved in {@code file}, so that training continues
     * exactly where the saved run stopped: model state, optimizer state and learning rate,
     * initial learning rate, counts, histories, best state and accuracy, and generator states.
     * Everything is checked before anything changes.
     *
     * @param file a checkpoint written by {@link #save}
     * @throws IllegalArgumentException when the file is not a checkpoint of this version, or
     *                                  does not fit the settings, model or optimizer (the
     *                                  message names the file and what differs)
     */
    public void load(Path file) throws IOException {
        checkOpen();
        SafeTensors.Header h = SafeTensors.readHeader(file);
        UnaryOperator<String> rename = StateDicts.renamer(model, ModelIO.names(h, "param/"));
        Map<String, String> m = StateDicts.renamed(h.metadata(), key -> renameKey(key, rename));
        if (!FORMAT.equals(m.get("format"))) {
            throw new IllegalArgumentException(file + " is not a solver checkpoint (metadata format is '" + m.get("format")
                    + "', expected '" + FORMAT + "')");
        }
        boolean v1 = "1".equals(m.get("version"));
        if (!v1 && !VERSION.equals(m.get("version"))) {
            throw new IllegalArgumentException(file + " is a version " + m.get("version") + " checkpoint; this panama-nn reads versions 1 and "
                    + VERSION + " (train again, or resume with the panama-nn that wrote it; its weights load with ModelIO.load(model, file, \"best/\"))");
        }
        if (v1) {
            checkVersion1Settings(file, m);
        } else {
            for (var e : settings.entrySet()) {
                String saved = meta(file, m, "run/" + e.getKey());
                if (!saved.equals(e.getValue())) {
                    throw new IllegalArgumentException(file + " was written with " + e.getKey() + " " + saved + " but this run has "
                            + e.getKey() + " " + e.getValue());
                }
            }
        }
        for (String key : m.keySet()) {
            if (key.startsWith("run/") && !settings.containsKey(key.substring(4))) {
                throw new IllegalArgumentException(file + " was written with " + key.substring(4) + " " + m.get(key)
                        + " but this run has no " + key.substring(4));
            }
        }
        int ckEpoch = intMeta(file, m, "epoch"), ckIteration = intMeta(file, m, "iteration");
        double ckInitialLr = v1 ? version1InitialRate(file, m, ckEpoch)
                : parseDouble(file, "initial_learning_rate", meta(file, m, "initial_learning_rate"));
        if (!(ckInitialLr > 0) || !Double.isFinite(ckInitialLr)) {
            throw new IllegalArgumentException(file + ": checkpoint initial_learning_rate " + ckInitialLr + " is not > 0");
        }
        boolean ckHasBest = Boolean.parseBoolean(meta(file, m, "has_best"));
        float ckBest = parseFloat(file, "best_val_acc", meta(file, m, "best_val_acc"));
        long[] ckRng = parseRng(file, "rng_state", meta(file, m, "rng_state"));
        List<Rng> generators = model.generators();
        List<long[]> ckModelRngs = new ArrayList<>();
        String mr = m.getOrDefault("model_rng_states", "");
        if (!mr.isEmpty()) for (String one : mr.split(";")) ckModelRngs.add(parseRng(file, "model_rng_states", one));
        if (ckModelRngs.size() != generators.size()) {
            throw new IllegalArgumentException(file + " holds the state of " + ckModelRngs.size()
                    + " model random generator(s) (dropout masks) but this model has " + generators.size()
                    + ": resume with the model of the interrupted run");
        }
        List<Float> ckLoss = parseFloats(file, "loss_history", meta(file, m, "loss_history"));
        List<Float> ckTrainAcc = parseFloats(file, "train_acc_history", meta(file, m, "train_acc_history"));
        List<Float> ckValAcc = parseFloats(file, "val_acc_history", meta(file, m, "val_acc_history"));
        if (ckLoss.size() != ckIteration || ckTrainAcc.size() != ckValAcc.size()) {
            throw new IllegalArgumentException(file + ": checkpoint histories do not fit (" + ckLoss.size() + " losses for "
                    + ckIteration + " iterations, " + ckTrainAcc.size() + " train and " + ckValAcc.size() + " val accuracies)");
        }
        checkRanges(file, ckEpoch, ckIteration, ckHasBest, ckBest, ckTrainAcc, ckValAcc);
        ModelIO.check(modelState, h, "param/", rename);
        if (ckHasBest) ModelIO.check(modelState, h, "best/", rename);
        try (SafeTensors.Contents c = SafeTensors.load(file)) {
            Map<String, Tensor> tensors = StateDicts.renamed(c.tensors(), key -> renameKey(key, rename));
            try {
                optimizer.loadStateDict(params, optimizerState(file, m, tensors)); // checks everything before it copies
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
            }
            // nothing below can fail
            int i = 0;
            for (var e : modelState.entrySet()) {
                e.getValue().copyFrom(tensors.get("param/" + e.getKey()));
                if (ckHasBest) best[i].copyFrom(tensors.get("best/" + e.getKey()));
                i++;
            }
        }
        initialLearningRate = ckInitialLr;
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
        lastCheckpoint = file;
    }

    /**
     * A checkpoint key with the state-dict name in it passed through {@code rename}:
     * {@code param/<name>}, {@code best/<name>}, {@code optim/<name>/<slot>} (and the
     * metadata {@code optim/<name>/t}); other keys as they are.
     */
    private static String renameKey(String key, UnaryOperator<String> rename) {
        for (String prefix : new String[] {"param/", "best/"}) {
            if (key.startsWith(prefix)) return prefix + rename.apply(key.substring(prefix.length()));
        }
        if (key.startsWith("optim/")) {
            int cut = key.lastIndexOf('/');
            if (cut > 5) return "optim/" + rename.apply(key.substring(6, cut)) + key.substring(cut);
        }
        return key;
    }

    /**
     * A version 1 checkpoint (before the run's settings and initial learning rate were stored)
     * stored {@code update_rule}, {@code batch_size}, {@code num_train} and {@code lr_decay}
     * (the only schedule then): each must match this run. Its hyperparameters besides the
     * learning rate were not stored and cannot be checked.
     */
    private void checkVersion1Settings(Path file, Map<String, String> m) {
        Map<String, String> expected = new LinkedHashMap<>();
        for (String key : new String[] {"update_rule", "batch_size", "num_train"}) expected.put(key, meta(file, m, key));
        double decay = parseDouble(file, "lr_decay", meta(file, m, "lr_decay"));
        if (!(decay > 0) || !Double.isFinite(decay)) throw new IllegalArgumentException(file + ": checkpoint lr_decay " + decay + " is not > 0");
        expected.put("schedule", LrSchedule.exponential(decay).describe());
        for (var e : expected.entrySet()) {
            String now = settings.get(e.getKey());
            if (now != null && !now.equals(e.getValue())) {
                throw new IllegalArgumentException(file + " (a version 1 checkpoint) was written with " + e.getKey() + " " + e.getValue()
                        + " but this run has " + e.getKey() + " " + now);
            }
        }
    }

    /**
     * The initial learning rate of a version 1 checkpoint's run, which it did not store: this
     * run's, once checked against the stored rate after {@code epoch} decays (v1 multiplied
     * the rate by {@code lr_decay} after every epoch, as {@link LrSchedule#exponential} does).
     */
    private double version1InitialRate(Path file, Map<String, String> m, int epoch) {
        double decay = parseDouble(file, "lr_decay", meta(file, m, "lr_decay"));
        double stored = parseDouble(file, "optim/learning_rate", meta(file, m, "optim/learning_rate"));
        double r = initialLearningRate;
        for (int i = 0; i < epoch; i++) r *= decay;
        if (!(Math.abs(r - stored) <= 1e-9 * Math.abs(stored))) {
            throw new IllegalArgumentException(file + " (a version 1 checkpoint) has learning rate " + stored + " after " + epoch
                    + " epoch(s) of decay " + decay + ", which does not follow from this run's initial learning rate " + initialLearningRate
                    + ": resume with the learning rate the interrupted run started with");
        }
        return initialLearningRate;
    }

    /** The optimizer state stored under {@code optim/}: every entry must belong to a param and slot. */
    private Optimizer.StateDict optimizerState(Path f, Map<String, String> m, Map<String, Tensor> tensors) {
        List<String> slots = optimizer.slotNames();
        Map<String, Param> byName = new LinkedHashMap<>();
        for (Param p : params) byName.put(p.name(), p);
        for (String key : tensors.keySet()) {
            if (!key.startsWith("optim/")) continue;
            String rest = key.substring(6);
            int cut = rest.lastIndexOf('/');
            if (cut < 0 || !byName.containsKey(rest.substring(0, cut)) || !slots.contains(rest.substring(cut + 1))) {
                throw new IllegalArgumentException("optimizer state has entry '" + rest + "' but there is no param and slot of that name "
                        + "(params " + byName.keySet() + ", slots " + slots + ")");
            }
        }
        List<Optimizer.ParamState> states = new ArrayList<>();
        for (Param p : params) {
            List<Tensor> ts = new ArrayList<>();
            for (String slot : slots) {
                Tensor t = tensors.get("optim/" + p.name() + "/" + slot);
                if (t == null) throw new IllegalArgumentException("optimizer state: missing '" + p.name() + "/" + slot + "' for param " + p);
                ts.add(t);
            }
            String tKey = "optim/" + p.name() + "/t";
            long steps;
            try {
                steps = Long.parseLong(meta(f, m, tKey));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("optimizer state: '" + tKey + "' is not a step count: " + m.get(tKey), e);
            }
            if (steps < 0) throw new IllegalArgumentException("optimizer state: negative step count for '" + tKey + "'");
            states.add(new Optimizer.ParamState(p.name(), steps, ts));
        }
        double lr = parseDouble(f, "optim/learning_rate", meta(f, m, "optim/learning_rate"));
        return new Optimizer.StateDict(meta(f, m, "optim/rule"), lr, slots, states);
    }

    /** Frees the optimizer's state and the best-state copies (not the model). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        optimizer.close();
        freeBest();
    }

    private void freeBest() {
        for (int i = 0; i < best.length; i++) {
            if (best[i] != null) best[i].close();
            best[i] = null;
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("training state is closed");
    }

    /**
     * Range checks of a checkpoint's counts and accuracies, so that a damaged or edited file
     * is refused instead of resuming as something impossible: epoch = iteration / (iterations
     * per epoch, from the run's num_train and batch_size), accuracies in [0, 1], best_val_acc
     * in [0, 1] when there is a best state (-Infinity when there is none).
     */
    private void checkRanges(Path file, int ckEpoch, int ckIteration, boolean ckHasBest, float ckBest,
                             List<Float> ckTrainAcc, List<Float> ckValAcc) {
        String n = settings.get("num_train"), b = settings.get("batch_size");
        if (n != null && b != null) {
            int perEpoch = Math.max(Integer.parseInt(n) / Math.max(1, Integer.parseInt(b)), 1);
            if (ckEpoch != ckIteration / perEpoch) {
                throw new IllegalArgumentException(file + ": checkpoint epoch " + ckEpoch + " does not fit iteration " + ckIteration
                        + " (" + perEpoch + " iterations per epoch give epoch " + ckIteration / perEpoch + ")");
            }
        }
        if (ckHasBest ? !(ckBest >= 0f && ckBest <= 1f) : ckBest != Float.NEGATIVE_INFINITY) {
            throw new IllegalArgumentException(file + ": checkpoint best_val_acc " + ckBest + " is not an accuracy"
                    + (ckHasBest ? " in [0, 1]" : " (-Infinity without a best state)"));
        }
        for (List<Float> accs : List.of(ckTrainAcc, ckValAcc)) {
            for (float a : accs) {
                if (!(a >= 0f && a <= 1f)) {
                    throw new IllegalArgumentException(file + ": checkpoint accuracy history holds " + a + ", not an accuracy in [0, 1]");
                }
            }
        }
    }

    // ------------------------------------------------------------------ metadata text

    private static String rngString(Rng g) {
        long[] s = g.getState();
        return s[0] + "," + s[1] + "," + s[2];
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

    private static double parseDouble(Path f, String key, String v) {
        try {
            return Double.parseDouble(v.trim());
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
}
