package dev.panamann.models;

import dev.panamann.layers.Affine;
import dev.panamann.layers.Layer;
import dev.panamann.layers.Sequential;
import dev.panamann.loss.Loss;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Denormals;
import dev.panamann.ops.Elementwise;
import dev.panamann.ops.Ops;
import dev.panamann.optim.Optimizer;
import dev.panamann.optim.UpdateThreads;
import dev.panamann.tensor.Buffer;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A model whose training step runs data-parallel inside the process: {@link #loss} splits the
 * batch into one slice per replica, each replica (the same architecture, built by the same
 * factory on a one-thread backend of its own) runs the forward and backward pass of its slice on
 * its own thread, and the gradients are averaged (weighted by slice size) into the model's own
 * gradient buffer. The replicas read the model's parameter values (shared memory, no copies), so
 * an optimizer step on {@link #params()} updates them all. The affine layers' weight gradients,
 * the largest, are not computed per replica and summed: each thread computes its share of the
 * rows of dW for the whole batch from every replica's saved input and upstream gradient
 * ({@link Affine#setWeightGradient}, a strided gemm). {@link #scores} splits the batch the same
 * way, each replica scoring its slice into its rows of the result.
 *
 * <p>Why: with two threads, a step of the native backend runs some thirty parallel regions
 * (each oneDNN primitive, each sgemm), and under the OpenMP wait policy the library uses (passive,
 * which keeps throughput when other processes take cores) each region wakes a sleeping thread.
 * Replicas hand work to the other thread once per step, and each one-thread replica runs the
 * conv - ReLU - pool in cache-sized tiles. The result is the same gradient as one pass over the
 * whole batch (up to the order of float sums), for models whose loss is a mean over examples
 * and that keep no batch statistics: models with buffers (batch norm) or random generators
 * (dropout) are trained without replicas.
 *
 * <p>{@link #of(Ops, Function)} decides as the library does by default (setting {@code
 * panamann.replicas} / {@code PANAMANN_REPLICAS}: {@code auto}, or a number, 0 = none): {@code
 * auto} gives one replica per thread of a native backend with two or more threads, and none
 * otherwise. A batch smaller than two replicas' worth ({@value #MIN_IMAGES_PER_REPLICA} images
 * each) runs on the model itself.
 *
 * <p>The replicas run on the library's worker threads ({@link UpdateThreads}, replica 0 on the
 * calling thread), the threads the optimizer's step and the L2 penalty are split over, so a
 * training step hands work to the same threads from start to end; when there are fewer of those
 * than replicas, or another thread is using them, the replicas run on threads of their own
 * ("panama-nn replica i", started at the first such step).
 *
 * <p>One thread at a time, as every model; {@link #close} closes the replicas, their backends and
 * threads, and the model.
 */
public final class DataParallel implements Model {
    /** Images a replica gets at least; smaller batches run on fewer replicas or on the model. */
    public static final int MIN_IMAGES_PER_REPLICA = 8;

    private final Model model;
    private final Replica[] replicas;
    private final OneCaller caller = new OneCaller();
    /** The batch the replicas' slices were cut from (slices are reused while it stays the same). */
    private Tensor slicedFrom;
    private int slicedCount;
    private final Step step = new Step();
    /** Runs the step's replicas on the library's worker threads (part i: replica i). */
    private final UpdateThreads.Task onWorkers = this::onWorker;
    /** Runs the replicas' scores of their slices on the library's worker threads (part i: replica i). */
    private final UpdateThreads.Task scoresOnWorkers = this::scoresPart;
    /** The replicated scores of the current {@link #scores} call, (N, numClasses). */
    private final Buffer scoresOut = new Buffer();
    /** How many replicas the current {@link #scores} call runs on. */
    private int scoresParts;
    /** The model's affine layers, whose dW the replicas leave to {@link Step} (same order as each replica's). */
    private final Affine[] affines;
    /** The model's loss when the replicas got theirs (built by the factory, or {@link #setLoss}). */
    private Loss criterion;
    /**
     * For {@link #trainStep} with a fusable optimizer: the optimizer the lists were made for, the
     * model's params but the affine weights, the regularized ones among those, and whether each
     * affine weight is regularized by the model's reg.
     */
    private Optimizer fusedFor;
    private List<Param> unfused, unfusedRegularized;
    private boolean[] affineRegularized;
    /** The model's params (as {@link #params()} lists them) of the affine layers' weights. */
    private Param[] affineWeights;
    /** The fused update of the current {@link #trainStep} (reused from step to step). */
    private final Fused fused;

    /**
     * The model built by {@code factory} on {@code ops}, with as many replicas as the {@code
     * panamann.replicas} setting says ({@code auto}: one per thread of a native backend with
     * two or more threads, none for the pure-Java backend, one thread, or a model with buffers
     * or random generators).
     *
     * @param ops     the backend of the model itself (not owned)
     * @param factory builds the model on a given backend; called once for the model and once per
     *                replica, it must build the same architecture every time
     */
    public static DataParallel of(Ops ops, Function<? super Ops, ? extends Model> factory) {
        String s = setting();
        if (s.equals("auto")) {
            Model m = factory.apply(ops);
            int n = ops.name().equals("native") && ops.threads() >= 2 && eligible(m) == null ? ops.threads() : 0;
            return build(ops, m, factory, n);
        }
        int n;
        try {
            n = Integer.parseInt(s);
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 0) throw new IllegalArgumentException("panamann.replicas must be auto or a whole number >= 0, got '" + s + "'");
        Model m = factory.apply(ops);
        return build(ops, m, factory, eligible(m) == null ? n : 0);
    }

    /**
     * The model built by {@code factory} on {@code ops} with {@code replicas} replicas, each on a
     * new one-thread backend of the same kind as {@code ops}.
     *
     * @param ops      the backend of the model itself (not owned)
     * @param factory  builds the model on a given backend (see {@link #of(Ops, Function)})
     * @param replicas how many; 0 runs every step on the model itself
     * @throws IllegalArgumentException when replicas is negative, or > 0 for a model that keeps
     *                                  buffers or random generators, or when a replica's params
     *                                  do not match the model's
     */
    public static DataParallel of(Ops ops, Function<? super Ops, ? extends Model> factory, int replicas) {
        if (replicas < 0) throw new IllegalArgumentException("replicas must be >= 0, got " + replicas);
        Model m = factory.apply(ops);
        String why = replicas > 0 ? eligible(m) : null;
        if (why != null) {
            m.close();
            throw new IllegalArgumentException("cannot train " + m.getClass().getSimpleName() + " with replicas: " + why);
        }
        return build(ops, m, factory, replicas);
    }

    private static DataParallel build(Ops ops, Model m, Function<? super Ops, ? extends Model> factory, int replicas) {
        List<Replica> made = new ArrayList<>();
        try {
            for (int i = 0; i < replicas; i++) {
                Ops r = Backends.create(ops.name());
                Model rm;
                try {
                    r.setThreads(1);
                    rm = factory.apply(r);
                } catch (RuntimeException | Error e) {
                    r.close();
                    throw e;
                }
                Replica rep = new Replica(i, replicas, rm, r);
                made.add(rep); // closed with the others on a failure below
                share(m, rm);
                List<Affine> own = affines(m);
                if (own.size() != rep.affines.length) {
                    throw new IllegalArgumentException("the factory built a replica with " + rep.affines.length + " affine layers, the model has "
                            + own.size() + ": it must build the same architecture every time");
                }
                for (Affine a : rep.affines) a.setWeightGradient(false); // computed once for all replicas (Step)
            }
        } catch (RuntimeException | Error e) {
            for (Replica r : made) r.close();
            m.close();
            throw e;
        }
        return new DataParallel(m, made.toArray(Replica[]::new));
    }

    private DataParallel(Model model, Replica[] replicas) {
        this.model = model;
        this.replicas = replicas;
        this.criterion = model instanceof SequentialModel s ? s.criterion() : null;
        this.affines = affines(model).toArray(Affine[]::new);
        this.fused = new Fused(affines.length);
    }

    /** The affine layers of a model built on {@link SequentialModel} (also inside nested {@link Sequential}s), in order. */
    static List<Affine> affines(Model m) {
        List<Affine> out = new ArrayList<>();
        if (m instanceof SequentialModel s) collect(s.layers(), out);
        return out;
    }

    private static void collect(Layer l, List<Affine> out) {
        if (l instanceof Affine a) out.add(a);
        else if (l instanceof Sequential s) for (Layer c : s.layers()) collect(c, out);
    }

    /** Why the model cannot have replicas, or null when it can. */
    private static String eligible(Model m) {
        if (!m.buffers().isEmpty()) {
            return "it keeps buffers " + m.buffers().keySet() + " (batch statistics), which replicas would each update";
        }
        if (!m.generators().isEmpty()) return "it draws random numbers while training (dropout)";
        try {
            m.gradients();
        } catch (UnsupportedOperationException e) {
            return e.getMessage();
        }
        return null;
    }

    /** Makes each param of the replica read the model's value; checks that the params match. */
    private static void share(Model m, Model replica) {
        List<Param> own = m.params(), rep = replica.params();
        if (own.size() != rep.size()) {
            throw new IllegalArgumentException("the factory built a replica with " + rep.size() + " params, the model has "
                    + own.size() + ": it must build the same architecture every time");
        }
        for (int i = 0; i < own.size(); i++) {
            Param a = own.get(i), b = rep.get(i);
            if (!a.name().equals(b.name()) || !a.value().sameShape(b.value())) {
                throw new IllegalArgumentException("the factory built a replica whose param " + i + " is " + b + ", the model's is " + a
                        + ": it must build the same architecture every time");
            }
        }
        if (replica.numClasses() != m.numClasses()) {
            throw new IllegalArgumentException("the factory built a replica with " + replica.numClasses() + " classes, the model has "
                    + m.numClasses());
        }
        for (int i = 0; i < own.size(); i++) rep.get(i).shareValueOf(own.get(i));
    }

    private static String setting() {
        String v = System.getProperty("panamann.replicas");
        if (v == null) v = System.getenv("PANAMANN_REPLICAS");
        return v == null ? "auto" : v.trim().toLowerCase(Locale.ROOT);
    }

    /** The model itself (the replicas share its param values). */
    public Model model() { return model; }

    /** The number of replicas (0: every step runs on the model itself). */
    public int replicas() { return replicas.length; }

    /**
     * Whether a buffer is held for gathering affine layer {@code j}'s inputs (in the order of the
     * model's affine layers) for one weight-gradient product over the batch; none for a layer whose
     * inputs are the batch itself, once a step has seen that.
     */
    boolean gathersInputs(int j) { return step.gathersInputs(j); }

    /**
     * Class scores for a batch, in evaluation mode: each replica scores its slice on the library's
     * worker threads (as {@link #loss} splits it), the model itself a batch too small for two
     * replicas or when the workers are busy. The same scores as the model's up to the order of
     * float sums.
     */
    @Override
    public Tensor scores(Tensor x) {
        caller.enter("DataParallel", "scores");
        try {
            int k = replicasFor(x);
            if (k < 2) return model.scores(x);
            int n = x.dim(0);
            slice(x, n, k);
            Tensor out = scoresOut.get(n, model.numClasses());
            scoresParts = k;
            try {
                if (!UpdateThreads.tryRun(k, scoresOnWorkers)) return model.scores(x);
            } catch (IllegalArgumentException e) {
                // a replica rejected its slice: report the batch as the model itself does
                model.scores(x);
                throw e;
            }
            return out;
        } finally {
            caller.exit();
        }
    }

    /** Part {@code part} of {@link #scores}: replica {@code part} scores its slice into its rows of the result. */
    private void scoresPart(int part, int parts) {
        if (part >= scoresParts) return;
        Replica r = replicas[part];
        Tensor s = r.model.scores(r.x);
        Tensor out = scoresOut.current();
        long rowBytes = (long) out.dim(1) * Float.BYTES;
        if (s.rank() != 2 || s.dim(0) != r.x.dim(0) || s.dim(1) != out.dim(1)) {
            throw new IllegalStateException("replica " + part + " gave scores of shape " + s.shapeString() + " for " + r.x.dim(0) + " rows");
        }
        MemorySegment.copy(s.segment(), 0, out.segment(), r.firstRow * rowBytes, r.x.dim(0) * rowBytes);
    }

    /** Cuts {@code x} into the replicas' slices (reused while x and k stay the same); replica i gets its rows. */
    private void slice(Tensor x, int n, int k) {
        boolean reslice = x != slicedFrom || slicedCount != k || replicas[0].x == null || replicas[0].x.isClosed();
        int from = 0;
        for (int i = 0; i < k; i++) {
            int rows = n / k + (i < n % k ? 1 : 0);
            Replica r = replicas[i];
            if (reslice || r.x.dim(0) != rows) r.x = x.slice(from, from + rows);
            r.firstRow = from;
            from += rows;
        }
        slicedFrom = x;
        slicedCount = k;
    }

    @Override
    public float loss(Tensor x, int[] y) {
        return (float) lossDouble(x, y);
    }

    /**
     * The model's loss and gradients for the batch, computed by the replicas on slices of it:
     * the slices' losses and gradients averaged with weights (slice size) / (batch size).
     */
    @Override
    public double lossDouble(Tensor x, int[] y) {
        caller.enter("DataParallel", "loss");
        try {
            return lossOf(x, y, replicasFor(x, y), null);
        } finally {
            caller.exit();
        }
    }

    /**
     * One training step of the batch: {@link #loss}, then {@code optimizer.step(params())}. When
     * the replicas run the batch and the optimizer is {@link Optimizer#fusable()} (plain SGD), the
     * update of each affine layer's weight is applied inside the products that compute its dW
     * ({@code W = decay * W - lr * sum_i (n_i / N) x_i^T dout_i}, the model's L2 term and the
     * optimizer's weight decay in {@code decay}): the weights are written once, and dW is neither
     * written nor read back. The new weights equal those of the two calls up to float rounding;
     * the gradients of those weights ({@link Param#grad()}) are not computed then (the other
     * params' are). Otherwise the same as the two calls.
     *
     * @param x         input batch, (N, ...)
     * @param y         labels, N values in [0, numClasses)
     * @param optimizer the update rule, applied to every param of the model
     * @return the loss, as {@link #loss}
     */
    @Override
    public float trainStep(Tensor x, int[] y, Optimizer optimizer) {
        caller.enter("DataParallel", "trainStep");
        try {
            int k = replicasFor(x, y);
            if (k < 2 || affines.length == 0 || !optimizer.fusable() || !prepareFused(optimizer)) {
                float loss = (float) lossOf(x, y, k, null);
                optimizer.step(model.params());
                return loss;
            }
            float lr = (float) optimizer.learningRate();
            float reg = model instanceof SequentialModel s ? s.reg() : 0f;
            for (int j = 0; j < affines.length; j++) {
                fused.decay[j] = optimizer.fusedDecay(affineWeights[j]) - (affineRegularized[j] ? lr * reg : 0f);
            }
            fused.lr = lr;
            fused.penalty = reg != 0f;
            float loss = (float) lossOf(x, y, k, fused);
            for (Param w : affineWeights) optimizer.countFusedStep(w);
            optimizer.step(unfused);
            return loss;
        } finally {
            caller.exit();
        }
    }

    /**
     * The update fused into a step's dW products, {@code W = decay[j] * W - lr * dW} for affine
     * layer j; {@code penalty}: the model's L2 term is summed over those weights before they change.
     */
    private static final class Fused {
        final float[] decay;
        float lr;
        boolean penalty;

        Fused(int layers) { decay = new float[layers]; }
    }

    /**
     * The lists {@link #trainStep} needs for {@code optimizer}, made at its first fused step;
     * false when the update cannot be fused: an affine weight the model does not list (frozen),
     * or one weight in two layers (tied).
     */
    private boolean prepareFused(Optimizer optimizer) {
        if (fusedFor == optimizer) return affineWeights != null;
        fusedFor = optimizer;
        affineWeights = null;
        // the model lists its layers' params under names of its own (Param.withName: other
        // objects, the same value tensors), and the optimizer keeps state per listed param
        Param[] weights = new Param[affines.length];
        for (Param p : model.params()) {
            for (int j = 0; j < affines.length; j++) if (p.value() == affines[j].weight().value()) weights[j] = p;
        }
        Set<Param> fusedSet = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int j = 0; j < affines.length; j++) {
            if (weights[j] == null || !fusedSet.add(weights[j])) return false;
        }
        Set<Param> regularized = Collections.newSetFromMap(new IdentityHashMap<>());
        if (model instanceof SequentialModel s) regularized.addAll(s.regularizedParams());
        List<Param> rest = new ArrayList<>(), restRegularized = new ArrayList<>();
        for (Param p : model.params()) {
            if (fusedSet.contains(p)) continue;
            rest.add(p);
            if (regularized.contains(p)) restRegularized.add(p);
        }
        boolean[] affineReg = new boolean[affines.length];
        for (int j = 0; j < affines.length; j++) affineReg[j] = regularized.contains(weights[j]);
        optimizer.prepare(model.params());
        unfused = List.copyOf(rest);
        unfusedRegularized = List.copyOf(restRegularized);
        affineRegularized = affineReg;
        affineWeights = weights;
        return true;
    }

    /**
     * How many replicas share batch {@code x}: 0 when the model runs it itself (fewer than two
     * replicas' worth of rows, or memory confined to the calling thread, which the workers cannot read).
     */
    private int replicasFor(Tensor x) {
        int n = x.rank() == 0 ? 0 : x.dim(0);
        int k = Math.min(replicas.length, n / MIN_IMAGES_PER_REPLICA);
        return k < 2 || !UpdateThreads.reachable(x.segment()) ? 0 : k;
    }

    /** How many replicas run the batch: as {@link #replicasFor(Tensor)}, and 0 for bad labels. */
    private int replicasFor(Tensor x, int[] y) {
        int k = replicasFor(x);
        return k < 2 || y == null || y.length != x.dim(0) || !labelsInRange(y) ? 0 : k;
    }

    private double lossOf(Tensor x, int[] y, int k, Fused fused) {
        if (k < 2) return model.lossDouble(x, y); // also the single model's error for a bad batch
        try {
            return replicated(x, y, x.dim(0), k, fused);
        } catch (IllegalArgumentException e) {
            // a replica rejected its slice: report the batch as the model itself does
            model.lossDouble(x, y);
            throw e;
        }
    }

    private boolean labelsInRange(int[] y) {
        int c = model.numClasses();
        for (int v : y) {
            if (v < 0 || v >= c) return false;
        }
        return true;
    }

    private double replicated(Tensor x, int[] y, int n, int k, Fused fused) {
        slice(x, n, k);
        for (int i = 0; i < k; i++) {
            Replica r = replicas[i];
            int rows = r.x.dim(0);
            if (r.y == null || r.y.length != rows) r.y = new int[rows];
            System.arraycopy(y, r.firstRow, r.y, 0, rows);
            r.weight = (float) rows / n;
        }
        syncSettings(k);
        step.begin(k, replicas, model.gradients().storage(), affines, fused, x.segment());
        if (!UpdateThreads.tryRun(k, onWorkers)) { // on the replicas' own threads
            for (int i = 1; i < k; i++) replicas[i].submit(step);
            replicas[0].runStep(step);
            step.awaitCombined();
        }
        Throwable failure = null;
        double loss = 0;
        for (int i = 0; i < k; i++) {
            if (failure == null) failure = replicas[i].failure;
            loss += (double) replicas[i].weight * replicas[i].loss;
        }
        if (failure instanceof RuntimeException e) throw e;
        if (failure instanceof Error e) throw e;
        if (failure != null) throw new IllegalStateException(failure);
        // the replicas run without the penalty (syncSettings): it is added once, to the sum
        if (model instanceof SequentialModel s) {
            if (fused == null) loss += L2.apply(s.regularizedParams(), s.reg());
            else loss += L2.apply(unfusedRegularized, s.reg()) + 0.5 * s.reg() * step.fusedSquares();
        }
        return loss;
    }

    /** Part {@code part} of a step on the library's worker threads: replica {@code part}'s pass and share. */
    private void onWorker(int part, int parts) {
        if (part < step.parts) replicas[part].runStep(step);
    }

    /**
     * Checks that the model's loss is still the one the replicas were given, and keeps the
     * replicas without the L2 penalty, which is added once to the summed gradients (a replica
     * would add it to its own gradients; the weighted sum would be the same, after one pass over
     * every weight per replica).
     */
    private void syncSettings(int k) {
        if (model instanceof SequentialModel s) {
            if (s.criterion() != criterion) {
                throw new IllegalStateException("the model's loss was replaced after its replicas were built (they still train with "
                        + criterion.getClass().getSimpleName() + "): use DataParallel.setLoss, which gives every replica one too");
            }
            for (int i = 0; i < k; i++) {
                SequentialModel r = (SequentialModel) replicas[i].model;
                if (r.reg() != 0f) r.setReg(0f);
            }
        }
    }

    /**
     * Trains the model and every replica with a loss of its own from {@code loss} (e.g. {@code
     * () -> new SoftmaxCrossEntropy(0.1f)} for label smoothing); each closes the one it replaces.
     * For a model built on {@link SequentialModel}.
     *
     * @param loss makes a new loss on each call
     * @throws IllegalArgumentException when the model is not a SequentialModel
     */
    public DataParallel setLoss(Supplier<? extends Loss> loss) {
        if (!(model instanceof SequentialModel s)) {
            throw new IllegalArgumentException(model.getClass().getName() + " is not a SequentialModel: its loss cannot be set");
        }
        caller.enter("DataParallel", "setLoss");
        try {
            s.setLoss(loss.get());
            for (Replica r : replicas) ((SequentialModel) r.model).setLoss(loss.get());
            criterion = s.criterion();
            return this;
        } finally {
            caller.exit();
        }
    }

    @Override
    public List<Param> params() { return model.params(); }

    @Override
    public Map<String, Tensor> buffers() { return model.buffers(); }

    @Override
    public List<Rng> generators() { return model.generators(); }

    @Override
    public Tensor gradients() { return model.gradients(); }

    @Override
    public int numClasses() { return model.numClasses(); }

    @Override
    public Map<String, String> legacyNames() { return model.legacyNames(); }

    @Override
    public String toString() {
        return model + (replicas.length == 0 ? "" : " (" + replicas.length + " data-parallel replicas)");
    }

    /** Stops the replicas' threads and closes the replicas, their backends, and the model. */
    @Override
    public void close() {
        if (!caller.enterClose()) return;
        try {
            for (Replica r : replicas) r.close();
            step.close();
            scoresOut.close();
            model.close();
        } finally {
            caller.exit();
        }
    }

    /**
     * One step's meeting points: every replica thread (the caller runs replica 0) computes its
     * slice's loss and gradients, waits until all have, sums its share of the gradient buffer
     * (weighted, over all replicas) into the model's, and the caller waits until every share is
     * summed. A waiting thread spins briefly (the others are usually about as far), then parks.
     */
    private static final class Step {
        /** How long a thread spins before it parks, waiting for the others. */
        private static final long SPIN_NS = 100_000;
        private final AtomicInteger computed = new AtomicInteger(), summed = new AtomicInteger();
        private int parts;
        private Replica[] replicas;
        /** The thread running each replica's part in this step (part 0: the caller). */
        private Thread[] threads = new Thread[0];
        private MemorySegment out;
        private Affine[] affines;
        /** [from, to) element ranges of the gradient buffer the affine layers' dW fill (sorted). */
        private long[] skipFrom = new long[0], skipTo = new long[0];
        /** The update fused into the dW products of this step; null: dW is written. */
        private Fused fused;
        /** Per part: sum(W^2) over its rows of the fused weights, taken before they change (for the L2 term). */
        private double[] squares = new double[0];
        /**
         * Per affine layer: whether this step computes its dW in one product over the whole batch
         * ({@link #merges}), and the batch's inputs and upstream gradients of that layer gathered
         * from the replicas, (N, in) and (N, out), each replica's rows at its first row.
         */
        private boolean[] merged = new boolean[0];
        private Buffer[] mergedX = new Buffer[0], mergedD = new Buffer[0];
        /** Rows of the whole batch (the replicas' rows summed). */
        private int batchRows;
        /** The step's input batch, whose slices the replicas' inputs are. */
        private MemorySegment batch;
        /**
         * By [part][layer]: whether the part's input of a merged layer is its rows of {@link #batch}
         * itself (a first layer), so that the product reads the batch and nothing is copied.
         */
        private boolean[][] inBatch = new boolean[0][0];
        /**
         * Per layer: whether every part's input of this merged layer was its rows of the batch in
         * the last step that merged it, so that no buffer is kept for gathering the inputs.
         */
        private boolean[] xInBatch = new boolean[0];
        /** Parts of the step before this one (the rows of {@link #inBatch} it filled). */
        private int lastParts;

        void begin(int parts, Replica[] replicas, MemorySegment out, Affine[] affines, Fused fused, MemorySegment batch) {
            this.parts = parts;
            this.batch = batch;
            this.fused = fused;
            if (squares.length < parts) squares = new double[parts];
            java.util.Arrays.fill(squares, 0.0);
            this.replicas = replicas;
            if (threads.length < replicas.length) threads = new Thread[replicas.length];
            if (out != this.out || affines != this.affines) {
                this.out = out;
                this.affines = affines;
                skipRanges();
            }
            planMerges();
            computed.set(0);
            summed.set(0);
        }

        /**
         * Whether affine layer j's dW is one product over the gathered batch: when every replica
         * weighs the same (equal slices, so the batch's dW is {@code w x^T dout} over all rows) and
         * the product's output rows are wide enough ({@code 2 (parts - 1) out >= N}) that writing
         * and re-reading them once per replica costs more than gathering the inputs. One product
         * of k = N writes each dW row once; one product per replica (k = N / parts each) writes it
         * and then reads and writes it again per further replica.
         */
        static boolean merges(int parts, int batchRows, int outDim, boolean equalWeights) {
            return parts >= 2 && equalWeights && 2L * (parts - 1) * outDim >= batchRows;
        }

        /** Decides {@link #merges} per layer for this step and sizes the gathered buffers (on the caller, before the parts run). */
        private void planMerges() {
            int count = affines.length;
            if (merged.length != count) {
                for (Buffer b : mergedX) b.close();
                for (Buffer b : mergedD) b.close();
                merged = new boolean[count];
                mergedX = new Buffer[count];
                mergedD = new Buffer[count];
                xInBatch = new boolean[count];
                for (int j = 0; j < count; j++) {
                    mergedX[j] = new Buffer();
                    mergedD[j] = new Buffer();
                }
                lastParts = 0;
            } else {
                // what the last step's gathers found (a first layer reads the batch in place)
                for (int j = 0; j < count; j++) {
                    if (!merged[j]) continue;
                    boolean all = lastParts > 0;
                    for (int i = 0; i < lastParts; i++) all &= inBatch[i][j];
                    xInBatch[j] = all;
                }
            }
            int rows = 0;
            boolean equal = true;
            for (int i = 0; i < parts; i++) {
                rows += replicas[i].x.dim(0);
                equal &= replicas[i].weight == replicas[0].weight;
            }
            batchRows = rows;
            if (inBatch.length < parts || inBatch[0].length != count) inBatch = new boolean[Math.max(parts, replicas.length)][count];
            for (int j = 0; j < count; j++) {
                merged[j] = merges(parts, rows, affines[j].outDim(), equal);
                if (merged[j]) mergedD[j].get(rows, affines[j].outDim());
                if (gathersX(j)) {
                    mergedX[j].get(rows, affines[j].inDim());
                } else if (merged[j] && mergedX[j].current() != null) { // inputs read in place: the buffer is freed
                    mergedX[j].close();
                    mergedX[j] = new Buffer();
                }
                for (int i = 0; i < parts; i++) inBatch[i][j] = false;
            }
            lastParts = parts;
        }

        /**
         * Copies replica {@code part}'s input and upstream gradient of each merged layer into the
         * gathered buffers at its rows (each thread its own replica's, after its pass and before
         * the meeting point).
         */
        private void gather(int part) {
            Replica r = replicas[part];
            for (int j = 0; j < affines.length; j++) {
                if (!merged[j]) continue;
                Affine a = r.affines[j];
                long in = affines[j].inDim(), outDim = affines[j].outDim(), rows = r.x.dim(0);
                MemorySegment x = a.lastInput().segment(), d = a.lastOutputGradient().segment();
                if (x.byteSize() != rows * in * Float.BYTES || d.byteSize() != rows * outDim * Float.BYTES) {
                    throw new IllegalStateException("replica " + part + " layer " + j + ": input of " + x.byteSize()
                            + " bytes and gradient of " + d.byteSize() + " bytes for " + rows + " rows of " + in + " -> " + outDim);
                }
                // the input of a first layer is this replica's rows of the batch: left where it is
                inBatch[part][j] = batch.byteSize() == batchRows * in * Float.BYTES
                        && x.address() == batch.address() + r.firstRow * in * Float.BYTES;
                // without a buffer (the inputs were in place last step, not now) the products run per replica
                if (!inBatch[part][j] && gathersX(j)) MemorySegment.copy(x, 0, mergedX[j].current().segment(), r.firstRow * in * Float.BYTES, x.byteSize());
                MemorySegment.copy(d, 0, mergedD[j].current().segment(), r.firstRow * outDim * Float.BYTES, d.byteSize());
            }
        }

        /**
         * Layer j's input for one product over the whole batch: the batch itself (every part's
         * rows are in it), the gathered buffer (every part copied its rows), or null: not merged
         * this step, the parts differ (not seen: the replicas are the same model), or the inputs
         * were in the batch last step and are not now, so that no buffer was prepared (the next
         * step prepares one); the products then run per replica.
         */
        private MemorySegment wholeBatchInput(int j) {
            if (!merged[j]) return null;
            int inPlace = 0;
            for (int i = 0; i < parts; i++) if (inBatch[i][j]) inPlace++;
            return inPlace == parts ? batch : inPlace == 0 && gathersX(j) ? mergedX[j].current().segment() : null;
        }

        /** Whether this step gathers layer j's inputs into a buffer (merged, and not found in the batch last time). */
        private boolean gathersX(int j) { return merged[j] && !xInBatch[j]; }

        /** Whether a buffer for gathering layer j's inputs is held (for tests). */
        boolean gathersInputs(int j) { return j < mergedX.length && mergedX[j].current() != null; }

        /** Frees the gathered buffers. */
        void close() {
            for (Buffer b : mergedX) b.close();
            for (Buffer b : mergedD) b.close();
        }

        /** After a replica's pass: waits for the other replicas, then sums share {@code part}. */
        void computedThenSum(int part) {
            threads[part] = Thread.currentThread(); // published to the last one by the increment
            if (computed.incrementAndGet() == parts) {
                for (int i = 0; i < parts; i++) LockSupport.unpark(threads[i]);
            } else {
                long until = System.nanoTime() + SPIN_NS;
                while (computed.get() < parts) {
                    if (System.nanoTime() < until) Thread.onSpinWait();
                    else LockSupport.parkNanos(this, SPIN_NS);
                }
            }
            boolean failed = false;
            for (int i = 0; i < parts; i++) failed |= replicas[i].failure != null;
            if (!failed) {
                try {
                    sum(part);
                    weightGradients(part);
                } catch (Throwable t) { // reported by the caller once every thread is through; a thread never dies here
                    replicas[part].failure = t;
                }
            }
            // threads[0], the caller's, was published before the first meeting point
            if (summed.incrementAndGet() == parts && part != 0) LockSupport.unpark(threads[0]);
        }

        /** {@code sum(W^2)} over the fused weights before the step changed them (0 unless the L2 term was asked for). */
        double fusedSquares() {
            double sum = 0;
            for (int i = 0; i < parts; i++) sum += squares[i];
            return sum;
        }

        /** Where each affine layer's dW sits in the model's gradient buffer. */
        private void skipRanges() {
            int count = affines.length;
            long[][] r = new long[count][];
            for (int j = 0; j < count; j++) {
                MemorySegment g = affines[j].weight().grad().segment();
                long from = (g.address() - out.address()) / Float.BYTES;
                r[j] = new long[] {from, from + g.byteSize() / Float.BYTES};
            }
            java.util.Arrays.sort(r, (a, b) -> Long.compare(a[0], b[0]));
            skipFrom = new long[count];
            skipTo = new long[count];
            for (int j = 0; j < count; j++) {
                skipFrom[j] = r[j][0];
                skipTo[j] = r[j][1];
            }
        }

        /**
         * The weighted sum of the replicas' gradients over share {@code part} of the buffer, but
         * for the affine layers' dW ({@link #weightGradients}).
         */
        private void sum(int part) {
            long size = out.byteSize() / Float.BYTES;
            long share = (size + parts - 1) / parts;
            share = (share + 15) & ~15L; // whole 64-byte lines per thread
            long from = Math.min(size, part * share), to = Math.min(size, from + share);
            for (int j = 0; j <= skipFrom.length && from < to; j++) {
                long end = j < skipFrom.length ? Math.min(to, skipFrom[j]) : to;
                if (from < end) sumRange(from, end);
                if (j < skipFrom.length) from = Math.max(from, skipTo[j]);
            }
        }

        private void sumRange(long from, long to) {
            Elementwise.weightedSum(replicas[0].weight, replicas[0].gradients, replicas[1].weight, replicas[1].gradients, out, from, to);
            for (int i = 2; i < parts; i++) Elementwise.weightedSum(1f, out, replicas[i].weight, replicas[i].gradients, out, from, to);
        }

        /**
         * Rows {@code [D * part / parts, D * (part + 1) / parts)} of each affine layer's dW for the
         * whole batch, {@code sum_i (n_i / N) x_i^T dout_i}, from every replica's input and upstream
         * gradient of that layer, into the model's gradient (on this thread's one-thread backend;
         * each dW row is written by one thread only): one product over the whole batch where the
         * layer {@link #merges} (the input read from the batch itself or from the gathered rows),
         * else one product per replica. With a fused
         * update the same products update the rows of W instead: {@code W = decay * W - lr * dW}
         * (every replica has read W by now: its pass is over).
         */
        private void weightGradients(int part) {
            Replica own = replicas[part];
            for (int j = 0; j < affines.length; j++) {
                int in = affines[j].inDim(), outDim = affines[j].outDim();
                int r0 = (int) ((long) in * part / parts), r1 = (int) ((long) in * (part + 1) / parts);
                if (r0 >= r1) continue;
                float scale = 1f, first = 0f;
                MemorySegment c;
                if (fused == null) {
                    c = own.slice(affines[j].weight().grad().segment(), (long) r0 * outDim, j, replicas.length);
                } else {
                    c = own.slice(affines[j].weight().value().segment(), (long) r0 * outDim, j, replicas.length + 1);
                    if (fused.penalty) squares[part] += Elementwise.sumOfSquares(c, (r1 - r0) * outDim);
                    scale = -fused.lr;
                    first = fused.decay[j];
                }
                MemorySegment whole = wholeBatchInput(j);
                if (whole != null) { // one product over the whole batch: these rows written once
                    MemorySegment x = own.slice(whole, r0, j, replicas.length + 2);
                    own.ops.gemm(true, false, r1 - r0, outDim, batchRows, scale * replicas[0].weight, x, in,
                            mergedD[j].current().segment(), outDim, first, c, outDim);
                    continue;
                }
                for (int i = 0; i < parts; i++) {
                    Affine a = replicas[i].affines[j];
                    MemorySegment x = own.slice(a.lastInput().segment(), r0, j, i);
                    own.ops.gemm(true, false, r1 - r0, outDim, replicas[i].x.dim(0), scale * replicas[i].weight, x, in,
                            a.lastOutputGradient().segment(), outDim, i == 0 ? first : 1f, c, outDim);
                }
            }
        }

        /** The caller, after its own share: waits until every share is summed. */
        void awaitCombined() {
            long until = System.nanoTime() + SPIN_NS;
            while (summed.get() < parts) {
                if (System.nanoTime() < until) Thread.onSpinWait();
                else LockSupport.parkNanos(this, SPIN_NS);
            }
        }
    }

    /** One replica: its model, its one-thread backend and (but for the first) its thread. */
    private static final class Replica implements Runnable {
        final int index;
        final Model model;
        final Ops ops;
        final Thread thread;
        final MemorySegment gradients;
        /** This replica's affine layers, in the model's order (their dW is left to the Step). */
        final Affine[] affines;
        Tensor x;
        /** The batch row x starts at. */
        int firstRow;
        int[] y;
        float weight;
        double loss;
        Throwable failure;
        private Step step;
        /**
         * Slices this replica's thread cut for the dW shares, by [affine layer][slot] (slot i: replica
         * i's input, slot = replica count: the dW rows, the next: the W rows of a fused update, the
         * next: the gathered inputs of a merged product),
         * with what they were cut from.
         */
        private final MemorySegment[][] slices, slicedFrom;
        private boolean started;
        private volatile int requested;
        private volatile boolean stopping;

        /** @param count how many replicas there are */
        Replica(int index, int count, Model model, Ops ops) {
            this.index = index;
            this.model = model;
            this.ops = ops;
            this.gradients = model.gradients().storage();
            this.affines = DataParallel.affines(model).toArray(Affine[]::new);
            this.slices = new MemorySegment[affines.length][count + 3];
            this.slicedFrom = new MemorySegment[affines.length][count + 3];
            this.thread = index == 0 ? null : new Thread(this, "panama-nn replica " + index);
            if (thread != null) thread.setDaemon(true);
        }

        /**
         * {@code s} from float {@code offset} on, cut once and reused while {@code s} is the same
         * segment (layers reuse their buffers), so a step allocates no slices.
         */
        MemorySegment slice(MemorySegment s, long offset, int layer, int slot) {
            MemorySegment cut = slices[layer][slot];
            if (slicedFrom[layer][slot] != s || cut == null || cut.address() != s.address() + offset * Float.BYTES) {
                cut = s.asSlice(offset * Float.BYTES);
                slices[layer][slot] = cut;
                slicedFrom[layer][slot] = s;
            }
            return cut;
        }

        /** This replica's pass and share of the sum, on the calling thread. */
        void runStep(Step s) {
            failure = null;
            try {
                loss = model.lossDouble(x, y);
                s.gather(index);
            } catch (Throwable t) {
                failure = t;
            }
            s.computedThenSum(index);
        }

        void submit(Step s) {
            if (!started) {
                thread.start();
                started = true;
            }
            step = s;
            requested = requested + 1;
            LockSupport.unpark(thread);
        }

        @Override
        public void run() {
            Denormals.applyToCurrentThread(); // as every thread that computes on model data
            int done = 0;
            while (true) {
                while (requested == done && !stopping) LockSupport.park(this);
                if (stopping) return;
                done = requested;
                runStep(step);
            }
        }

        void close() {
            stopping = true;
            if (thread != null && thread.isAlive()) {
                LockSupport.unpark(thread);
                boolean interrupted = false;
                while (true) {
                    try {
                        thread.join();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                if (interrupted) Thread.currentThread().interrupt();
            }
            try {
                model.close();
            } finally {
                ops.close();
            }
        }
    }
}
