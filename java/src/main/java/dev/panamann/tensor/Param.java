package dev.panamann.tensor;

import dev.panamann.tensor.Tensor;

/**
 * A learnable parameter: its value and the gradient of the loss with respect to it, of the
 * same shape. {@code regularized} says whether the model's L2 term covers it (weights yes,
 * biases and batch-norm shifts no, as in cs231n).
 */
public final class Param implements AutoCloseable {
    private final String name;
    private final Tensor value;
    private final Tensor grad;
    private final boolean regularized;

    /**
     * A parameter that owns {@code value} (closed with it) and a new zero gradient.
     *
     * @param name        name, e.g. "W1"
     * @param value       the value, any shape; owned from now on
     * @param regularized whether L2 regularization covers it
     */
    public Param(String name, Tensor value, boolean regularized) {
        this(name, value, Tensor.zeros(value.shape()), regularized);
    }

    private Param(String name, Tensor value, Tensor grad, boolean regularized) {
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

    public Tensor grad() { return grad; }

    public boolean regularized() { return regularized; }

    /** Sets the gradient to zero. */
    public void zeroGrad() { grad.fill(0f); }

    @Override
    public void close() {
        value.close();
        grad.close();
    }

    @Override
    public String toString() { return "Param(" + name + ", " + value.shapeString() + ")"; }
}
