package dev.panamann.ops;

import dev.panamann.tensor.StorageOrder;

/**
 * What every planned op shares ({@link Conv2dOp}, {@link ConvReluOp}, {@link ConvReluPoolOp},
 * {@link ConvBnReluOp}, {@link Pool2dOp}, {@link BatchNormOp}): it is closed without a checked
 * exception, and it says when it must be planned again.
 */
public interface PlannedOp extends AutoCloseable {
    /**
     * Whether this op must be planned again before its next call: true when a setting it was
     * planned for has changed since (a native plan's thread count: oneDNN fixes a primitive's
     * threads when it is made, so after {@code Ops.setThreads} the plans made before would keep
     * running on the old count). The layers check it and plan again. False by default.
     */
    default boolean stale() { return false; }

    /**
     * For an op with weights: the order its training passes read the weights and write their
     * gradient in directly ({@link dev.panamann.tensor.Param#preferOrder}), or null when they
     * use row-major weights (or reorder them either way). Weights in another order are still
     * read and written right. Null by default.
     */
    default StorageOrder weightOrder() { return null; }

    @Override
    void close();
}
