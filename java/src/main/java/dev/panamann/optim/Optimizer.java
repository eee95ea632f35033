package dev.panamann.optim;

import dev.panamann.tensor.Param;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A first-order update rule with the cs231n {@code optim.py} semantics: each call of
 * {@link #step(List)} reads every {@link Param#grad()} and changes {@link Param#value()} in
 * place.
 *
 * <p>Per-parameter state (velocity, RMSProp cache, Adam moments) lives off-heap in tensors of
 * the parameter's shape, keyed by the {@link Param} object. It is allocated by
 * {@link #prepare(List)} (or on a parameter's first step), so that once prepared a step
 * allocates nothing. The built-in rules are elementwise ({@link #elementwise()}): a step
 * updates the parameters chunk by chunk in heap arrays, where the JIT vectorizes the loops
 * (Adam and SGD with momentum, when the JVM has {@code jdk.incubator.vector}: in place, with
 * Vector API loops), and splits large steps over the {@link UpdateThreads}; the results equal
 * those of the plain per-element loop ({@link #update}) to the bit.
 *
 * <p>Weight decay: L2 regularization comes from the model's {@code reg}: {@code Model.loss}
 * adds {@code 0.5 * reg * sum(W^2)} to the loss and {@code reg * W} to the gradient of each
 * regularized parameter, which for plain SGD is the classic weight decay. The rules {@link Sgd},
 * {@link SgdMomentum}, {@link Nesterov}, {@link RmsProp} and {@link Adam} can instead add the
 * same gradient term themselves ({@code weight_decay}, as PyTorch's optimizers of those names
 * do): each step uses {@code dw + weight_decay * w} for the parameters whose
 * {@link Param#regularized()} is true (weights; not biases or batch-norm scales and shifts),
 * computed inside the update loop, without changing {@link Param#grad()}. With the model's
 * {@code reg} at 0 and {@code weight_decay = reg} the parameters take the same values, to the
 * bit, as with the model's {@code reg}; the loss then leaves out {@code 0.5 * reg * sum(W^2)},
 * and the step saves the model's separate pass over the weights and gradients
 * ({@code optim.L2Penalty}). Decoupled weight decay (Loshchilov &amp; Hutter) is part of the
 * rules {@link SgdNesterov} and {@link AdamW}: {@code w -= lr * weight_decay * w} besides the
 * gradient step, for the same parameters.
 *
 * <p>The learning rate can be changed between steps ({@link #setLearningRate}), which is how
 * the solver's schedule sets it per epoch. {@link #stateDict()} / {@link #loadStateDict} give
 * and take the whole state (a checkpoint stores it); the rules have typed accessors of their
 * state ({@link Adam#firstMoment}, {@link MomentumOptimizer#velocity}, {@link RmsProp#cache},
 * {@link #steps} / {@link #setSteps}). Close the optimizer to free its state.
 */
public abstract class Optimizer implements AutoCloseable {
    /** Float access used by the update loops (tensors may be views at any float offset). */
    protected static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final String rule;
    private final String[] slotNames;
    /** The L2 weight decay added to the gradient of the regularized params (0: none). */
    private final float l2Decay;
    private double learningRate;
    private final Map<Param, Slots> state = new IdentityHashMap<>();
    private final List<Param> order = new ArrayList<>();
    private boolean closed;

    /** State of one parameter: one tensor per slot and the number of steps taken. */
    private static final class Slots {
        final Tensor[] tensors;
        final MemorySegment[] segments;
        long t;
        /** Value and gradient memory and size during a split step (null otherwise). */
        MemorySegment w, dw;
        int n;
        /** The rule's scalars of the current step ({@link #stepScalars}). */
        final float[] scalars = new float[STEP_SCALARS];
        /** Whether weight decay applies to the parameter ({@link Param#regularized()}). */
        final boolean decay;

        Slots(Tensor[] tensors, boolean decay) {
            this.tensors = tensors;
            this.decay = decay;
            this.segments = new MemorySegment[tensors.length];
            for (int i = 0; i < tensors.length; i++) segments[i] = tensors[i].storage();
        }
    }

    /**
     * @param rule         the rule's name as {@link Optimizers#create} knows it
     * @param learningRate step size, finite and &gt; 0
     * @param slotNames    names of the per-parameter state tensors, each of the parameter's shape
     */
    protected Optimizer(String rule, double learningRate, String... slotNames) {
        this(rule, learningRate, 0, slotNames);
    }

    /**
     * A rule that adds L2 weight decay to the gradient: each step uses
     * {@code dw + weightDecay * w} for the regularized params (see the class comment). Only
     * for {@link #elementwise()} rules.
     *
     * @param weightDecay &gt;= 0, finite; 0 for none
     */
    protected Optimizer(String rule, double learningRate, double weightDecay, String... slotNames) {
        this.rule = rule;
        this.slotNames = slotNames.clone();
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
            throw new IllegalArgumentException(rule + ": weight_decay must be a finite number >= 0, got " + weightDecay);
        }
        this.l2Decay = (float) weightDecay;
        setLearningRate(learningRate);
    }

    /**
     * The L2 weight decay this rule adds to the gradient of the regularized params (0: none);
     * not the decoupled decay of {@link SgdNesterov} and {@link AdamW}.
     */
    public final double l2WeightDecay() { return l2Decay; }

    /** The L2 weight decay of a parameter: this rule's for a regularized one, else 0. */
    private float l2(Slots s) { return s.decay ? l2Decay : 0f; }

    /** {@code m} with {@code weight_decay} added when this rule has an L2 weight decay: for {@link #hyperparameters()}. */
    protected final Map<String, Double> withL2Decay(Map<String, Double> m) {
        if (l2Decay != 0f) m.put("weight_decay", (double) l2Decay);
        return m;
    }

    /** The rule's name: "sgd", "sgd_momentum", "nesterov", "sgd_nesterov", "rmsprop", "adam" or "adamw". */
    public final String rule() { return rule; }

    /** The current learning rate. */
    public final double learningRate() { return learningRate; }

    /**
     * Sets the learning rate used by the following steps.
     *
     * @param lr finite and &gt; 0
     */
    public final void setLearningRate(double lr) {
        if (!(lr > 0) || !Double.isFinite(lr)) {
            throw new IllegalArgumentException(rule + ": learning rate must be a finite number > 0, got " + lr);
        }
        this.learningRate = lr;
    }

    /** Names of the per-parameter state tensors, e.g. {@code [m, v]} for Adam. */
    public final List<String> slotNames() { return List.of(slotNames); }

    /** The hyperparameters other than the learning rate, by their cs231n names. */
    public abstract Map<String, Double> hyperparameters();

    /**
     * Allocates the state of each parameter now (zeros), so that the steps that follow
     * allocate nothing. Parameters already known are left as they are.
     *
     * @param params the parameters that will be stepped
     */
    public final void prepare(List<Param> params) {
        for (Param p : params) slots(p);
    }

    /**
     * One update of every parameter from its gradient.
     *
     * @param params parameters whose {@link Param#grad()} holds dL/dw, each of its value's shape
     */
    public final void step(List<Param> params) {
        int count = params.size();
        if (!chunked() || count == 0) {
            for (int i = 0; i < count; i++) step(params.get(i));
            return;
        }
        // every check first, then one split run over all parameters
        if (run.length < count) run = new Slots[Math.max(count, 2 * run.length)];
        long total = 0;
        boolean repeated = false;
        try {
            for (int i = 0; i < count; i++) {
                Param p = params.get(i);
                Slots s = slots(p);
                checkSizes(p);
                p.adoptPreferredOrder(); // value, gradient and state in one order: the update is elementwise
                MemorySegment w = p.value().storage(), dw = p.grad().storage();
                repeated |= s.w != null;
                s.w = w;
                s.dw = dw;
                s.n = Math.toIntExact(p.value().size());
                run[i] = s;
                runCount = i + 1;
                total += s.n;
            }
        } catch (RuntimeException | Error e) {
            clearRun();
            throw e;
        }
        if (repeated) { // the same parameter twice: one after the other, as listed
            clearRun();
            for (int i = 0; i < count; i++) step(params.get(i));
            return;
        }
        for (int i = 0; i < count; i++) {
            Slots s = run[i];
            s.t++;
            stepScalars(s.t, s.decay, s.scalars);
        }
        try {
            resolveLoops();
            UpdateThreads pool = total >= SPLIT_MIN_ELEMENTS ? UpdateThreads.shared() : null;
            if (pool != null && pool.parts() > 1 && pool.available() && accessibleBy(pool, count)) {
                runPool = pool;
                pool.run(splitTask);
            } else runPart(0, 1);
        } finally {
            runPool = null;
            clearRun();
        }
    }

    private void clearRun() {
        for (int i = 0; i < runCount; i++) {
            run[i].w = run[i].dw = null;
            run[i] = null;
        }
        runCount = 0;
    }

    /** {@link #elementwise()} and at most two slots (the scratch arrays hold two). */
    private boolean chunked() {
        return elementwise() && slotNames.length <= 2;
    }

    /**
     * One update of one parameter from its gradient.
     *
     * @param p a parameter whose {@link Param#grad()} holds dL/dw, of its value's shape
     */
    public final void step(Param p) {
        Slots s = slots(p);
        checkSizes(p);
        p.adoptPreferredOrder(); // value, gradient and state in one order: the update is elementwise
        Tensor w = p.value(), dw = p.grad();
        s.t++;
        int n = Math.toIntExact(w.size());
        if (chunked()) {
            stepScalars(s.t, s.decay, s.scalars);
            resolveLoops();
            updateRange(w.storage(), dw.storage(), s.segments, s.scalars, l2(s), 0, n, scratch);
        } else {
            if (l2Decay != 0f) throw new UnsupportedOperationException(rule + ": weight_decay needs an elementwise rule");
            if (!elementwise()) p.useRowMajorOrder(); // such a rule may read the values by position
            update(w.storage(), dw.storage(), s.segments, s.t, n);
        }
    }

    /**
     * Whether this rule's update of a parameter is {@code w = decay * w - lr * dw} with no state
     * (plain SGD, with or without weight decay), so that a model can apply it inside the product
     * that computes dW ({@code models.DataParallel#trainStep}): {@code w} is then written once
     * instead of dW being written, read back and applied. False by default.
     */
    public boolean fusable() { return false; }

    /**
     * The factor {@code decay} of the fused update of {@code p} ({@link #fusable()}): {@code 1 -
     * lr * weight_decay} in float for a regularized parameter of a rule with weight decay, 1
     * otherwise. Prepares the parameter's state as {@link #prepare} does.
     *
     * @throws UnsupportedOperationException when the rule is not {@link #fusable()}
     */
    public final float fusedDecay(Param p) {
        if (!fusable()) throw new UnsupportedOperationException(rule + " has state or is not w = decay * w - lr * dw: it cannot be fused");
        return 1f - (float) learningRate * l2(slots(p));
    }

    /**
     * Counts one step of {@code p} whose update the caller applied itself ({@link #fusable()}),
     * as {@link #step(Param)} would count it ({@link #steps}).
     *
     * @throws UnsupportedOperationException when the rule is not {@link #fusable()}
     */
    public final void countFusedStep(Param p) {
        if (!fusable()) throw new UnsupportedOperationException(rule + " cannot be fused");
        checkSizes(p);
        slots(p).t++;
    }

    private void checkSizes(Param p) {
        Tensor w = p.value(), dw = p.grad();
        if (w.size() != dw.size()) {
            throw new IllegalArgumentException(rule + ": param '" + p.name() + "' has value of shape " + w.shapeString()
                    + " but grad of shape " + dw.shapeString());
        }
    }

    /**
     * The update rule on raw memory.
     *
     * @param w     parameter values, n floats, updated in place
     * @param dw    gradient, n floats
     * @param state the slots in {@link #slotNames()} order, n floats each, updated in place
     * @param t     number of this step for this parameter, 1 on the first (Adam's bias correction)
     * @param n     number of elements
     */
    protected abstract void update(MemorySegment w, MemorySegment dw, MemorySegment[] state, long t, int n);

    /**
     * Whether the rule is elementwise (element i of the new values and state depends only on
     * element i of the old ones and of the gradient), has at most two state slots, and
     * implements {@link #updateChunk}. The step then copies chunks of the parameter and its
     * state into heap arrays, where the JIT vectorizes the rule, and splits large steps over the
     * {@link UpdateThreads}; the results are those of {@link #update} to the bit. False by
     * default: {@link #update} runs on the calling thread.
     */
    protected boolean elementwise() { return false; }

    /**
     * The rule on one chunk of {@code len} elements held in heap arrays; the same arithmetic,
     * in the same order, as {@link #update}. Called only when {@link #elementwise()} is true,
     * possibly on several threads at once (for disjoint chunks).
     *
     * @param w       parameter values, updated in place
     * @param dw      gradient
     * @param state   the state slots in {@link #slotNames()} order (arrays beyond those are scratch), updated in place
     * @param scalars what {@link #stepScalars} computed for this parameter's step
     * @param len     number of elements of each array to update
     */
    protected void updateChunk(float[] w, float[] dw, float[][] state, float[] scalars, int len) {
        throw new UnsupportedOperationException(rule + " has no chunked update");
    }

    /**
     * Scalars of step {@code t} that {@link #updateChunk} needs (e.g. Adam's bias corrections),
     * computed once per parameter and step on the calling thread. Does nothing by default.
     *
     * @param t       number of this step for the parameter, 1 on the first
     * @param scalars room for {@link #STEP_SCALARS} values
     */
    protected void stepScalars(long t, float[] scalars) {}

    /**
     * As {@link #stepScalars(long, float[])}, told whether the parameter takes weight decay
     * (its {@link Param#regularized()} flag: weights yes, biases and batch-norm parameters no).
     * The rules with decoupled weight decay ({@link SgdNesterov}, {@link AdamW}) override this
     * one; by default it calls {@link #stepScalars(long, float[])}.
     *
     * @param t       number of this step for the parameter, 1 on the first
     * @param decay   whether weight decay applies to the parameter
     * @param scalars room for {@link #STEP_SCALARS} values
     */
    protected void stepScalars(long t, boolean decay, float[] scalars) { stepScalars(t, scalars); }

    /** How many values {@link #stepScalars} may write. */
    protected static final int STEP_SCALARS = 4;

    /** Below this many elements in all a step runs on the calling thread (waking the workers costs more). */
    static final int SPLIT_MIN_ELEMENTS = 1 << 15;

    private final UpdateThreads.Scratch scratch = new UpdateThreads.Scratch();
    private final UpdateThreads.Task splitTask = this::runPart;
    /** The threads the current step is split over (null when it runs on the calling thread alone). */
    private UpdateThreads runPool;
    private Slots[] run = new Slots[8];
    private int runCount;

    private boolean accessibleBy(UpdateThreads pool, int count) {
        for (int i = 0; i < count; i++) {
            Slots s = run[i];
            if (!pool.accessible(s.w) || !pool.accessible(s.dw)) return false;
            for (MemorySegment m : s.segments) if (!pool.accessible(m)) return false;
        }
        return true;
    }

    /** Part {@code part} of {@code parts} of every parameter of the current step: a contiguous, 16-float-aligned range of each. */
    private void runPart(int part, int parts) {
        UpdateThreads.Scratch sc = runPool == null ? scratch : runPool.scratch(part);
        for (int i = 0; i < runCount; i++) {
            Slots s = run[i];
            int n = s.n;
            int lo = part == 0 ? 0 : (int) ((long) n * part / parts) & ~15;
            int hi = part == parts - 1 ? n : (int) ((long) n * (part + 1) / parts) & ~15;
            if (lo < hi) updateRange(s.w, s.dw, s.segments, s.scalars, l2(s), lo, hi, sc);
        }
    }

    /**
     * The rule over elements [from, to): directly on the memory when the rule has a loop in the
     * selected {@link UpdateLoops}, else {@link #updateChunk} chunk by chunk through the scratch
     * arrays; with the gradient {@code dw + l2 * w} when {@code l2} is not 0.
     */
    private void updateRange(MemorySegment w, MemorySegment dw, MemorySegment[] state, float[] scalars, float l2, int from,
                             int to, UpdateThreads.Scratch sc) {
        UpdateLoops l = loops;
        if (l != null && updateDirect(l, w, dw, state, scalars, l2, from, to)) return;
        int slots = state.length;
        for (int o = from; o < to; o += UpdateThreads.Scratch.CHUNK) {
            int len = Math.min(UpdateThreads.Scratch.CHUNK, to - o);
            long off = (long) o * Float.BYTES;
            MemorySegment.copy(w, F, off, sc.w, 0, len);
            MemorySegment.copy(dw, F, off, sc.dw, 0, len);
            if (l2 != 0f) { // the heap copy of the gradient only: Param.grad() stays as it is
                float[] cw = sc.w, cg = sc.dw;
                for (int i = 0; i < len; i++) cg[i] = cg[i] + l2 * cw[i];
            }
            for (int j = 0; j < slots; j++) MemorySegment.copy(state[j], F, off, sc.state[j], 0, len);
            updateChunk(sc.w, sc.dw, sc.state, scalars, len);
            MemorySegment.copy(sc.w, 0, w, F, off, len);
            for (int j = 0; j < slots; j++) MemorySegment.copy(sc.state[j], 0, state[j], F, off, len);
        }
    }

    /**
     * The rule over elements [from, to) of the memory with one of {@code loops}' loops, with the
     * same results as {@link #updateChunk} on the gradient {@code dw + l2 * w}; false when the rule
     * has none there (the default).
     */
    boolean updateDirect(UpdateLoops loops, MemorySegment w, MemorySegment dw, MemorySegment[] state, float[] scalars,
                         float l2, int from, int to) {
        return false;
    }

    /** Selects the {@link UpdateLoops} at the first chunked step (the settings are read once per optimizer). */
    private void resolveLoops() {
        if (!loopsResolved) {
            loops = UpdateLoops.fromSettings();
            loopsResolved = true;
        }
    }

    /** The loops that update in place ({@link UpdateLoops#fromSettings()}), or null; set by the first chunked step. */
    private UpdateLoops loops;
    private boolean loopsResolved;

    /** Steps taken so far for {@code p} (0 if never stepped). */
    public final long steps(Param p) {
        Slots s = state.get(p);
        return s == null ? 0 : s.t;
    }

    /**
     * A state tensor of one parameter, as a view (do not close it), or null when the
     * parameter has no state yet.
     *
     * @param p    the parameter
     * @param slot one of {@link #slotNames()}
     */
    public final Tensor slot(Param p, String slot) {
        Slots s = state.get(p);
        if (s == null) return null;
        return view(s.tensors[slotIndex(slot)]);
    }

    /**
     * Sets the number of steps taken for {@code p} (Adam's bias correction counts from it),
     * allocating its state (zeros) if it has none yet.
     *
     * @param p     the parameter
     * @param steps &gt;= 0
     */
    public final void setSteps(Param p, long steps) {
        if (steps < 0) throw new IllegalArgumentException(rule + ": step count must be >= 0, got " + steps);
        slots(p).t = steps;
    }

    /**
     * One state tensor of a parameter as a live view (do not close it; write into it to set
     * the state), allocated (zeros) if the parameter has no state yet. The typed accessors of
     * the rules ({@link Adam#firstMoment}, {@link MomentumOptimizer#velocity}, {@link RmsProp#cache})
     * call this.
     *
     * @param p    the parameter
     * @param slot index in {@link #slotNames()}
     */
    protected final Tensor state(Param p, int slot) {
        return view(slots(p).tensors[slot]);
    }

    /**
     * The state of one parameter.
     *
     * @param param name of the parameter ({@link Param#name()})
     * @param steps updates taken, &gt;= 0
     * @param slots the state tensors in {@link #slotNames()} order, each of the parameter's shape
     */
    public record ParamState(String param, long steps, List<Tensor> slots) {
        public ParamState {
            if (param == null) throw new IllegalArgumentException("param name is null");
            if (steps < 0) throw new IllegalArgumentException("param '" + param + "': negative step count " + steps);
            slots = List.copyOf(slots);
        }
    }

    /**
     * An optimizer's whole state, as {@link #stateDict()} gives it and {@link #loadStateDict}
     * takes it.
     *
     * @param rule         the rule's name
     * @param learningRate the current learning rate
     * @param slotNames    names of the per-parameter state tensors
     * @param params       the state of each parameter, in the order they were first stepped
     */
    public record StateDict(String rule, double learningRate, List<String> slotNames, List<ParamState> params) {
        public StateDict {
            slotNames = List.copyOf(slotNames);
            params = List.copyOf(params);
        }
    }

    /**
     * The optimizer's whole state: rule, learning rate and each parameter's step count and
     * state tensors, as views (valid until {@link #reset()} or {@link #close()}; do not close
     * them; they change with the following steps).
     */
    public final StateDict stateDict() {
        checkOpen();
        List<ParamState> ps = new ArrayList<>(order.size());
        for (Param p : order) {
            Slots s = state.get(p);
            List<Tensor> views = new ArrayList<>(slotNames.length);
            for (Tensor t : s.tensors) views.add(view(t));
            ps.add(new ParamState(p.name(), s.t, views));
        }
        return new StateDict(rule, learningRate, List.of(slotNames), ps);
    }

    /**
     * Restores a state of an optimizer of the same rule (from {@link #stateDict()}, or read from
     * a checkpoint) for the given parameters, copying the tensors. Everything is checked first
     * (rule, slot names, learning rate, exactly one entry per parameter, slot shapes); on any
     * mismatch an {@link IllegalArgumentException} names it and this optimizer is left
     * unchanged.
     *
     * @param params the parameters, matched to the saved states by {@link Param#name()}
     * @param saved  the state to load
     */
    public final void loadStateDict(List<Param> params, StateDict saved) {
        checkOpen();
        if (!rule.equals(saved.rule())) {
            throw new IllegalArgumentException("optimizer state was saved by rule '" + saved.rule() + "' but this optimizer is '"
                    + rule + "'");
        }
        if (!saved.slotNames().equals(List.of(slotNames))) {
            throw new IllegalArgumentException("optimizer state has slots " + saved.slotNames() + " but " + rule + " has "
                    + List.of(slotNames));
        }
        double lr = saved.learningRate();
        if (!(lr > 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("optimizer state: bad learning_rate " + lr);
        Map<String, Param> byName = new LinkedHashMap<>();
        for (Param p : params) {
            if (byName.put(p.name(), p) != null) throw new IllegalArgumentException("two params named '" + p.name() + "'");
        }
        Map<String, ParamState> savedByName = new LinkedHashMap<>();
        for (ParamState ps : saved.params()) {
            if (!byName.containsKey(ps.param())) {
                throw new IllegalArgumentException("optimizer state has an entry for '" + ps.param()
                        + "' but there is no param of that name (params " + byName.keySet() + ")");
            }
            if (savedByName.put(ps.param(), ps) != null) {
                throw new IllegalArgumentException("optimizer state has two entries for '" + ps.param() + "'");
            }
        }
        for (Param p : params) {
            ParamState ps = savedByName.get(p.name());
            if (ps == null) throw new IllegalArgumentException("optimizer state: missing the state of param " + p);
            if (ps.slots().size() != slotNames.length) {
                throw new IllegalArgumentException("optimizer state of '" + p.name() + "' has " + ps.slots().size()
                        + " slot tensors but " + rule + " has " + slotNames.length + " " + List.of(slotNames));
            }
            for (int j = 0; j < slotNames.length; j++) {
                Tensor t = ps.slots().get(j);
                if (t == null || !t.sameShape(p.value())) {
                    throw new IllegalArgumentException("optimizer state: '" + p.name() + "/" + slotNames[j] + "' has shape "
                            + (t == null ? "null" : t.shapeString()) + " but param '" + p.name() + "' has shape "
                            + p.value().shapeString());
                }
            }
        }
        // all checked: copy
        learningRate = lr;
        for (Param p : params) {
            ParamState ps = savedByName.get(p.name());
            Slots s = slots(p);
            for (int j = 0; j < slotNames.length; j++) s.tensors[j].copyFrom(ps.slots().get(j));
            s.t = ps.steps();
        }
    }

    /** Forgets the state of every parameter (zero moments, step counts 0) and frees it. */
    public final void reset() {
        for (Map.Entry<Param, Slots> e : state.entrySet()) {
            for (Tensor t : e.getValue().tensors) {
                e.getKey().detachState(t);
                t.close();
            }
        }
        state.clear();
        order.clear();
    }

    /** Frees the state tensors. */
    @Override
    public void close() {
        reset();
        closed = true;
    }

    @Override
    public String toString() {
        return rule + "(learning_rate=" + learningRate + (hyperparameters().isEmpty() ? "" : ", " + hyperparameters()
                .toString().replaceAll("[{}]", "")) + ")";
    }

    // ------------------------------------------------------------------ helpers

    private Slots slots(Param p) {
        checkOpen();
        Slots s = state.get(p);
        if (s == null) {
            for (Param q : order) {
                if (q.name().equals(p.name())) {
                    throw new IllegalArgumentException(rule + ": two different params are named '" + p.name() + "'");
                }
            }
            Tensor[] ts = new Tensor[slotNames.length];
            for (int i = 0; i < ts.length; i++) {
                ts[i] = Tensor.zeros(p.value().shape());
                p.attachState(ts[i]); // zeros: valid in the value's current order; reordered with it from now on
            }
            s = new Slots(ts, p.regularized());
            state.put(p, s);
            order.add(p);
        }
        return s;
    }

    private int slotIndex(String slot) {
        for (int i = 0; i < slotNames.length; i++) if (slotNames[i].equals(slot)) return i;
        throw new IllegalArgumentException(rule + " has no state slot '" + slot + "' (slots: " + List.of(slotNames) + ")");
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException(rule + " optimizer is closed");
    }

    private static Tensor view(Tensor t) { return t.reshape(t.shape()); }

    /** Checks {@code 0 <= value < 1}, as momentum, decay rates and betas must be. */
    static double unitInterval(String rule, String name, double value) {
        if (!(value >= 0 && value < 1)) {
            throw new IllegalArgumentException(rule + ": " + name + " must be in [0, 1), got " + value);
        }
        return value;
    }

    /** Checks {@code value > 0}, finite. */
    static double positive(String rule, String name, double value) {
        if (!(value > 0) || !Double.isFinite(value)) {
            throw new IllegalArgumentException(rule + ": " + name + " must be a finite number > 0, got " + value);
        }
        return value;
    }
}
