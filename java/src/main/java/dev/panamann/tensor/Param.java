package dev.panamann.tensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A learnable parameter: its value and the gradient of the loss with respect to it, of the
 * same shape. {@code regularized} says whether the model's L2 term covers it (weights yes,
 * biases and batch-norm shifts no, as in cs231n).
 *
 * <p>The gradient starts as a tensor of its own; {@link Gradients#pack} moves the gradients of a
 * model's params into one contiguous tensor, after which {@link #grad()} is a view of it (so a
 * distributed all-reduce can average every gradient in one call, in place). Callers therefore
 * ask {@link #grad()} each time instead of keeping the tensor.
 *
 * <p><b>Storage order.</b> A native convolution reads and writes its weights in a blocked
 * layout of its choice. Its layer tells the weight param that order ({@link #preferOrder}); the
 * optimizer's next step ({@link #adoptPreferredOrder}) then reorders the value, the gradient
 * and the optimizer's state of it into that order once, and they stay there from step to step,
 * so the convolution reads the weights and writes their gradient with no reorder. Any read or
 * write of the values through {@link Tensor} ({@link Tensor#segment()}, {@code get},
 * {@code copyFrom}, {@code toArray}, ...) of the value, the gradient, the state or a view of
 * them puts all of them back in row-major order first (saving, reading, a gradient check, a
 * listener: the values are always right), and the next optimizer step reorders them again.
 * Views of the value made before it became this param's, and the tensor it is a view of, are
 * not covered: a param whose value is a view never leaves row-major order, nor do two params
 * given the same tensor.
 */
public final class Param implements AutoCloseable {
    /**
     * Whether params take the order their ops prefer (system property {@code panamann.weightOrder}:
     * {@code native}, the default, or {@code rowmajor} to keep every param row-major, as before
     * the orders existed: the native convolutions then reorder the weights each call).
     */
    static final boolean ORDERS_BY_DEFAULT = ordersByDefault();

    private static boolean ordersByDefault() {
        String v = System.getProperty("panamann.weightOrder", "native");
        return switch (v) {
            case "native" -> true;
            case "rowmajor" -> false;
            default -> throw new IllegalArgumentException("panamann.weightOrder must be 'native' or 'rowmajor', got '" + v + "'");
        };
    }

    private final String name;
    private final ValueRef value; // shared with the withName aliases (shareValueOf replaces what it holds)
    private final GradSlot grad;
    private final boolean regularized;

    /** The value and the order it is held in; shared by a param and its {@link #withName} aliases. */
    private static final class ValueRef {
        Tensor tensor;
        Order order;

        ValueRef(Tensor t, Order o) {
            tensor = t;
            order = o;
        }
    }

    /** Where the gradient lives; shared by a param and its {@link #withName} aliases. */
    static final class GradSlot {
        private Tensor tensor;
        private Order order;

        GradSlot(Tensor t) { tensor = t; }

        Tensor tensor() { return tensor; }

        /** Makes {@code t} the gradient, covered by the order of the value it belongs to. */
        void set(Tensor t) {
            tensor = t;
            if (order != null) t.guard(order);
        }
    }

    /**
     * The order a value, the gradients of every param sharing it ({@link #shareValueOf}) and the
     * optimizer state attached to it are held in, changed for all of them together.
     */
    private static final class Order implements Tensor.Guard {
        /** The value, a tensor owning its memory; null when the value is a view (always row-major). */
        private final Tensor value;
        private final List<GradSlot> grads = new ArrayList<>(2);
        private final List<Tensor> states = new ArrayList<>(2);
        /** The order held now (null: row-major); read by the step's threads without the lock. */
        private volatile StorageOrder current;
        private StorageOrder preferred;
        private boolean allowed = ORDERS_BY_DEFAULT;
        /** The value is also another param's (see the constructor): never leaves row-major order. */
        private boolean shared;
        private float[] scratch;
        private long changes;

        Order(Tensor value) {
            if (value.guard() instanceof Order other) {
                // the tensor (or the one it is a view of) is another param's value already: a
                // memory two params update must stay in one order, row-major, for both
                other.share();
                this.value = null;
            } else {
                this.value = value.isView() ? null : value;
                value.guard(this);
            }
        }

        /** Another param took this value: row-major from now on, whatever is asked. */
        synchronized void share() {
            shared = true;
            preferred = null;
            rowMajor();
        }

        synchronized void join(GradSlot g) {
            g.order = this;
            grads.add(g);
            g.tensor.guard(this);
        }

        @Override
        public StorageOrder order() { return current; }

        @Override
        public void rowMajor() {
            if (current == null) return; // the common case, on every read of a param's values: no lock
            synchronized (this) {
                if (current != null) change(null);
            }
        }

        synchronized StorageOrder prefer(StorageOrder o) {
            if (!allowed || shared || value == null || o == null || !value.hasShape(o.shape())) return null;
            if (!o.equals(preferred)) preferred = o.equals(current) ? current : o;
            return preferred;
        }

        synchronized void adoptPreferred() {
            if (preferred != current) change(preferred);
        }

        synchronized void allow(boolean allow) {
            allowed = allow;
            if (!allow) {
                preferred = null;
                rowMajor();
            }
        }

        synchronized void attach(Tensor state) {
            if (!state.isView() && value != null && state.sameShape(value)) {
                states.add(state);
                state.guard(this);
            } else if (current != null) {
                throw new IllegalStateException("optimizer state must be a tensor of its own of the param's shape "
                        + (value == null ? "" : value.shapeString()) + ", got " + state.shapeString());
            }
        }

        synchronized void detach(Tensor state) {
            states.removeIf(t -> t == state);
        }

        /** Reorders every tensor held in this order into {@code to} (null: row-major). */
        private void change(StorageOrder to) {
            StorageOrder from = current;
            if (scratch == null) scratch = new float[value.sizeInt()];
            reorder(value, from, to);
            for (GradSlot g : grads) reorder(g.tensor, from, to);
            states.removeIf(Tensor::isClosed);
            for (Tensor t : states) reorder(t, from, to);
            current = to;
            changes++;
        }

        private void reorder(Tensor t, StorageOrder from, StorageOrder to) {
            if (t.isClosed()) return; // a closed replica's gradient or state: nothing left to keep
            MemorySegment m = t.storage();
            if (from != null) from.toRowMajor(m, scratch);
            if (to != null) to.fromRowMajor(m, scratch);
        }
    }

    /**
     * A parameter that owns {@code value} (closed with it) and a new zero gradient.
     *
     * @param name        name, e.g. "W1"
     * @param value       the value, any shape; owned from now on
     * @param regularized whether L2 regularization covers it
     */
    public Param(String name, Tensor value, boolean regularized) {
        this(name, new ValueRef(value, new Order(value)), new GradSlot(Tensor.zeros(value.shape())), regularized);
        this.value.order.join(grad);
    }

    private Param(String name, ValueRef value, GradSlot grad, boolean regularized) {
        this.name = name;
        this.value = value;
        this.grad = grad;
        this.regularized = regularized;
    }

    /**
     * The same parameter under another name: the result shares this one's value and gradient
     * tensors (no copy; also a value given later by {@link #shareValueOf}), so a model can expose
     * a layer's "gamma" as "gamma1". Closing either
     * closes the shared tensors.
     *
     * @param newName the name the returned param reports
     */
    public Param withName(String newName) {
        return new Param(newName, value, grad, regularized);
    }

    /**
     * Makes this param read and write {@code source}'s value from now on (the same memory, no
     * copy), freeing the value it owned: what a data-parallel replica ({@code
     * models.DataParallel}) does with each of its params, so that an update of the source is the
     * replica's too. The gradient stays this param's own. Closing this param then leaves the
     * shared value to {@code source}.
     *
     * @param source a param of the same shape
     * @throws IllegalArgumentException when the shapes differ
     */
    public void shareValueOf(Param source) {
        Tensor own = value.tensor, shared = source.value.tensor;
        if (!shared.sameShape(own)) {
            throw new IllegalArgumentException("param " + name + " " + own.shapeString() + " cannot share the value of "
                    + source.name + " " + shared.shapeString() + ": the shapes differ");
        }
        value.order.rowMajor(); // this param's own gradient leaves its order row-major
        Tensor view = shared.reshape(shared.shape()); // a view: closing it leaves the memory to source
        own.close();
        value.tensor = view;
        value.order = source.value.order;
        synchronized (value.order) {
            value.order.rowMajor(); // the gradient joins in row-major order, as the source's tensors then are
            value.order.join(grad);
        }
    }

    public String name() { return name; }

    /** The value (see the class comment: its values read in row-major order). */
    public Tensor value() { return value.tensor; }

    /** The gradient, of the value's shape (a view of the model's gradient buffer once packed). */
    public Tensor grad() { return grad.tensor; }

    GradSlot gradSlot() { return grad; }

    public boolean regularized() { return regularized; }

    /** Sets the gradient to zero. */
    public void zeroGrad() { grad.tensor.storage().fill((byte) 0); } // zeros in every order

    /**
     * Records the order a training op reads this param's value and writes its gradient in
     * directly; the optimizer's next step moves value, gradient and state into it
     * ({@link #adoptPreferredOrder}). Ignored (null returned) when the value is a view or the
     * order is for another shape.
     *
     * @param order the op's order
     * @return the order now preferred, equal to {@code order} (the instance first given, so
     *         that ops can compare by identity), or null when ignored
     */
    public StorageOrder preferOrder(StorageOrder order) { return value.order.prefer(order); }

    /**
     * Moves the value, the gradients and the attached optimizer state into the order
     * {@link #preferOrder} recorded, if they are not in it: what an optimizer does before it
     * updates the param, since its update works on the memory as it is held.
     */
    public void adoptPreferredOrder() { value.order.adoptPreferred(); }

    /**
     * Puts value, gradients and attached state back in row-major order (what any read through
     * {@link Tensor} does by itself).
     */
    public void useRowMajorOrder() { value.order.rowMajor(); }

    /**
     * Whether this param (and every param sharing its value) may take the order its ops prefer;
     * true by default (see {@code panamann.weightOrder}). Turning it off puts the tensors back
     * in row-major order and keeps them there.
     */
    public void allowOtherOrders(boolean allow) { value.order.allow(allow); }

    /** The order the value is held in now; null for row-major. */
    public StorageOrder storageOrder() { return value.order.current; }

    /** How many times the value changed order, for tests and diagnostics. */
    public long orderChanges() {
        synchronized (value.order) {
            return value.order.changes;
        }
    }

    /**
     * Makes an optimizer's state tensor of this param follow the value's order: it is reordered
     * with the value, and reading it puts all of them in row-major order. The tensor must own its
     * memory and have the value's shape, and hold values valid in the current order (zeros are
     * valid in every order).
     *
     * @throws IllegalStateException when the value is not row-major and the tensor does not qualify
     */
    public void attachState(Tensor state) { value.order.attach(state); }

    /** Stops {@link #attachState} for {@code state} (before the optimizer frees it). */
    public void detachState(Tensor state) { value.order.detach(state); }

    @Override
    public void close() {
        value.tensor.close(); // a no-op for a value shared by shareValueOf: its source frees it
        grad.tensor.close(); // a no-op for a view of a packed buffer: the buffer's owner frees it
    }

    @Override
    public String toString() { return "Param(" + name + ", " + value.tensor.shapeString() + ")"; }
}
