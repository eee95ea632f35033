package dev.panamann.layers;

import dev.panamann.ops.Ops;
import dev.panamann.ops.Pool2dOp;
import dev.panamann.ops.PoolGeometry;
import dev.panamann.tensor.Tensor;

/**
 * 2-D pooling over square windows of {@code kernel} x {@code kernel}, moved by {@code stride},
 * no padding: {@link MaxPool2d} or {@link AvgPool2d}. Input (N, C, H, W), output
 * (N, C, OH, OW) with {@code OH = (H - kernel) / stride + 1}. The plan and buffers are kept
 * while the input shape holds.
 */
public abstract sealed class Pool2d implements Layer permits MaxPool2d, AvgPool2d {
    private final Ops ops;
    private final int kernel, stride;
    private final boolean max;
    private final String name;
    private Pool2dOp plan;
    private Tensor out, dx, x;

    Pool2d(Ops ops, int kernel, int stride, boolean max, String name) {
        if (kernel < 1 || stride < 1) {
            throw new IllegalArgumentException(name + " needs kernel and stride >= 1, got kernel " + kernel + ", stride " + stride);
        }
        this.ops = ops;
        this.kernel = kernel;
        this.stride = stride;
        this.max = max;
        this.name = name;
    }

    /** Window height and width. */
    public int kernel() { return kernel; }

    /** Step between windows. */
    public int stride() { return stride; }

    /**
     * @param x    input, (N, C, H, W)
     * @param mode TRAIN keeps what {@link #backward} needs (max pooling: where each maximum came from)
     * @return output, (N, C, OH, OW), owned by this layer
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        x.checkOpen();
        if (x.rank() != 4) {
            throw new IllegalArgumentException(name + " expects input (N, C, H, W) but got " + x.shapeString());
        }
        PoolGeometry g = PoolGeometry.of(x.shape(), kernel, stride);
        if (plan == null || !plan.geometry().equals(g) || plan.stale()) replan(g);
        plan.forward(x, out, mode == Mode.TRAIN);
        if (mode == Mode.TRAIN) this.x = x;
        return out;
    }

    /**
     * @param dout upstream gradient, (N, C, OH, OW)
     * @return gradient for the input, (N, C, H, W), owned by this layer
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (x == null) throw new IllegalStateException(name + ".backward called without a TRAIN forward before it");
        plan.backward(x, dout, dx);
        return dx;
    }

    /** Whether the current op must be planned again (for tests); false before the first forward. */
    boolean planStale() { return plan != null && plan.stale(); }

    private void replan(PoolGeometry g) {
        close();
        plan = ops.pool2d(g, max);
        out = Tensor.zeros(g.outputShape());
        dx = Tensor.zeros(g.inputShape());
    }

    @Override
    public void close() {
        if (plan != null) plan.close();
        if (out != null) out.close();
        if (dx != null) dx.close();
        plan = null;
        out = dx = x = null;
    }

    @Override
    public String toString() { return name + "(" + kernel + "x" + kernel + ", stride " + stride + ")"; }
}
