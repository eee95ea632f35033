package dev.panamann.tensor;

/**
 * A learnable parameter: its value and the gradient of the loss with respect to it, of the
 * same shape. {@code regularized} says whether the model's L2 term covers it (weights yes,
 * biases and batch-norm shifts no, as in cs231n).
 *
 * <p>The gradient starts as a tensor of its own; {@link Gradients#pack} moves the gradients of a
 * model's params into one contiguous tensor, after which {@link #grad()} is a view of it (so a
 * distributed all-reduce can average every gradient in one call, in place). Callers therefore
 * ask {@link #grad()} each time instead of keeping the tensor.
 */
public final class Param implements AutoCloseable {
    private final String name;
    private final Tensor[] value; // one element, shared with the withName aliases (shareValueOf replaces it)
    private final GradSlot grad;
    private final boolean regularized;

    /** Where the gradient lives; shared by a param and its {@link #withName} aliases. */
    static final class GradSlot {
        Tensor tensor;

        GradSlot(Tensor t) { tensor = t; }
    }

    /**
     * A parameter that owns {@code value} (closed with it) and a new zero gradient.
     *
     * @param name        name, e.g. "W1"
     * @param value       the value, any shape; owned from now on
     * @param regularized whether L2 regularization covers it
     */
    public Param(String name, Tensor value, boolean regularized) {
        this(name, new Tensor[] {value}, new GradSlot(Tensor.zeros(value.shape())), regularized);
    }

    private Param(String name, Tensor[] value, GradSlot grad, boolean regularized) {
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
        Tensor own = value[0], shared = source.value[0];
        if (!shared.sameShape(own)) {
            throw new IllegalArgumentException("param " + name + " " + own.shapeString() + " cannot share the value of "
                    + source.name + " " + shared.shapeString() + ": the shapes differ");
        }
        Tensor view = shared.reshape(shared.shape()); // a view: closing it leaves the memory to source
        own.close();
        value[0] = view;
    }

    public String name() { return name; }

    public Tensor value() { return value[0]; }

    /** The gradient, of the value's shape (a view of the model's gradient buffer once packed). */
    public Tensor grad() { return grad.tensor; }

    GradSlot gradSlot() { return grad; }

    public boolean regularized() { return regularized; }

    /** Sets the gradient to zero. */
    public void zeroGrad() { grad.tensor.fill(0f); }

    @Override
    public void close() {
        value[0].close(); // a no-op for a value shared by shareValueOf: its source frees it
        grad.tensor.close(); // a no-op for a view of a packed buffer: the buffer's owner frees it
    }

    @Override
    public String toString() { return "Param(" + name + ", " + value[0].shapeString() + ")"; }
}
