package dev.panamann.layers;

import dev.panamann.ops.Ops;

/**
 * 2-D max pooling (cs231n {@code max_pool_forward} / {@code max_pool_backward}): the maximum
 * of each window. A TRAIN forward remembers where each maximum came from; backward sends each
 * gradient there. Shapes as in {@link Pool2d}.
 */
public final class MaxPool2d extends Pool2d {
    /**
     * @param ops    backend
     * @param kernel window height and width
     * @param stride step between windows
     */
    public MaxPool2d(Ops ops, int kernel, int stride) {
        super(ops, kernel, stride, true, "MaxPool2d");
    }
}
