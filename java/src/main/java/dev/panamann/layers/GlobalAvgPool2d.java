package dev.panamann.layers;

import dev.panamann.ops.Ops;
import dev.panamann.ops.Pool2dOp;
import dev.panamann.ops.PoolGeometry;
import dev.panamann.tensor.Tensor;

/**
 * Global average pooling: (N, C, H, W) to (N, C), the mean of each channel over its H x W
 * positions; backward spreads each gradient evenly over them. Runs as an average pooling op
 * with one H x W window ({@link Ops#pool2d}: oneDNN on the native backend, its Java twin
 * otherwise), so H and W must be equal. The plan and buffers are kept while the input shape
 * holds.
 */
public final class GlobalAvgPool2d implements Layer {
    private final Ops ops;
    private Pool2dOp plan;
    private Tensor out, outFlat, dx;
    private Tensor x;

    /** @param ops backend */
    public GlobalAvgPool2d(Ops ops) {
        this.ops = ops;
    }

    /**
     * @param x    input, (N, C, H, W) with H = W
     * @param mode TRAIN keeps x for {@link #backward}
     * @return output, (N, C), owned by this layer
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        x.checkOpen();
        if (x.rank() != 4 || x.dim(2) != x.dim(3)) {
            throw new IllegalArgumentException("GlobalAvgPool2d expects input (N, C, H, W) with H = W but got " + x.shapeString());
        }
        PoolGeometry g = PoolGeometry.of(x.shape(), x.dim(2), x.dim(2));
        if (plan == null || !plan.geometry().equals(g) || plan.stale()) replan(g);
        plan.forward(x, out, mode == Mode.TRAIN);
        if (mode == Mode.TRAIN) this.x = x;
        return outFlat;
    }

    /**
     * @param dout upstream gradient, (N, C)
     * @return gradient for the input, (N, C, H, W), owned by this layer
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (x == null) throw new IllegalStateException("GlobalAvgPool2d.backward called without a TRAIN forward before it");
        dout.requireShape("GlobalAvgPool2d.backward dout", outFlat.shape());
        plan.backward(x, dout.reshape(out.shape()), dx);
        return dx;
    }

    /** Whether the current op must be planned again (for tests); false before the first forward. */
    boolean planStale() { return plan != null && plan.stale(); }

    private void replan(PoolGeometry g) {
        close();
        plan = ops.pool2d(g, false);
        out = Tensor.zeros(g.outputShape());
        outFlat = out.reshape(g.outputShape()[0], g.outputShape()[1]);
        dx = Tensor.zeros(g.inputShape());
    }

    @Override
    public void close() {
        if (plan != null) plan.close();
        if (out != null) out.close();
        if (dx != null) dx.close();
        plan = null;
        out = outFlat = dx = x = null;
    }

    @Override
    public String toString() { return "GlobalAvgPool2d"; }
}
