package dev.panamann.layers;

import dev.panamann.ops.Ops;

/**
 * 2-D average pooling: the mean of each window. A TRAIN forward must come before backward,
 * which spreads each gradient evenly over its window. Shapes as in {@link Pool2d}.
 */
public final class AvgPool2d extends Pool2d {
    /**
     * @param ops    backend
     * @param kernel window height and width
     * @param stride step between windows
     */
    public AvgPool2d(Ops ops, int kernel, int stride) {
        super(ops, kernel, stride, false, "AvgPool2d");
    }
}
