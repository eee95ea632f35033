package dev.panamann.layers;

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

    public Param(String name, Tensor value, boolean regularized) {
        this.name = name;
        this.value = value;
        this.grad = Tensor.zeros(value.shape());
        this.regularized = regularized;
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
