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
    private final Tensor value;
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
        this(name, value, new GradSlot(Tensor.zeros(value.shape())), regularized);
    }

    private Param(String name, Tensor value, GradSlot grad, boolean regularized) {
        this.name = name;
        this.value = value;
        this.grad = grad;
        this.regularized = regularized;
    }

    /**
     * The same parameter under another name: the result shares this one's value and gradient
     * tensors (no copy), so a model can expose a layer's "gamma" as "gamma1". Closing either
     * closes the shared tensors.
     *
     * @param newName the name the returned param reports
     */
    public Param withName(String newName) {
        return new Param(newName, value, grad, regularized);
    }

    public String name() { return name; }

    public Tensor value() { return value; }

    /** The gradient, of the value's shape (a view of the model's gradient buffer once packed). */
    public Tensor grad() { return grad.tensor; }

    GradSlot gradSlot() { return grad; }

    public boolean regularized() { return regularized; }

    /** Sets the gradient to zero. */
    public void zeroGrad() { grad.tensor.fill(0f); }

    @Override
    public void close() {
        value.close();
        grad.tensor.close(); // a no-op for a view of a packed buffer: the buffer's owner frees it
    }

    @Override
    public String toString() { return "Param(" + name + ", " + value.shapeString() + ")"; }
}
