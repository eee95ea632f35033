package dev.panamann.layers;

import dev.panamann.tensor.Tensor;
import java.util.Arrays;

/**
 * Flattens each sample: (N, d1, ..., dk) to (N, D) with D = d1 * ... * dk. Both directions are
 * views of the same memory, no copy: forward returns a view of x, backward a view of dout with
 * x's shape.
 */
public final class Flatten implements Layer {
    private int[] inShape;
    private Tensor lastIn;
    private Tensor lastOut;

    /**
     * @param x    input, (N, d1, ..., dk)
     * @param mode unused
     * @return a view of x, (N, D)
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        x.checkOpen();
        if (x.rank() < 1) throw new IllegalArgumentException("Flatten: input must be (N, ...) but has shape " + x.shapeString());
        if (x != lastIn) {
            inShape = x.shape();
            long d = 1;
            for (int i = 1; i < inShape.length; i++) d *= inShape[i];
            lastOut = x.reshape(inShape[0], Math.toIntExact(d));
            lastIn = x;
        }
        return lastOut;
    }

    /**
     * @param dout upstream gradient, (N, D)
     * @return a view of dout with x's shape (N, d1, ..., dk)
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (inShape == null) throw new IllegalStateException("Flatten.backward called before forward");
        if (dout.size() != lastOut.size() || dout.rank() != 2 || dout.dim(0) != inShape[0]) {
            throw new IllegalArgumentException("Flatten.backward: dout must have shape " + lastOut.shapeString()
                    + " (input was " + Arrays.toString(inShape) + ") but has shape " + dout.shapeString());
        }
        return dout.reshape(inShape);
    }

    @Override
    public void close() {
        lastIn = null;
        lastOut = null;
    }

    @Override
    public String toString() { return "Flatten"; }
}
