package dev.panamann.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * An order of a tensor's values in memory other than row-major, with none added or left out:
 * element {@code i} of the memory holds the row-major element {@code rowMajorIndex(i)}. A native
 * backend describes with it the blocked layout its convolution reads and writes weights in
 * (oneDNN's {@code Acdb16a}, for example), so that a {@link Param} can keep its value, gradient
 * and optimizer state in that order between training steps ({@link Param#preferOrder}) and the
 * convolution needs no reorder per step. Elementwise code (optimizers, the L2 term, sums of
 * gradients) works on the memory as it is, since value, gradient and state share the order.
 *
 * <p>Immutable. Two orders are equal when they are the same permutation of the same shape.
 */
public final class StorageOrder {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final String name;
    private final int[] shape;
    private final int[] rowMajorIndex;

    /**
     * @param name          the layout's name, for messages (e.g. {@code "Acdb16a"})
     * @param shape         the tensor shape the order is for
     * @param rowMajorIndex for each memory position, the row-major index of the value held there:
     *                      a permutation of {@code 0 .. size - 1}
     * @throws IllegalArgumentException when it is not a permutation of the shape's elements
     */
    public StorageOrder(String name, int[] shape, int[] rowMajorIndex) {
        long n = Tensor.elementCount(shape);
        if (rowMajorIndex.length != n) {
            throw new IllegalArgumentException("storage order " + name + " of shape " + Arrays.toString(shape) + " has "
                    + rowMajorIndex.length + " positions for " + n + " values");
        }
        boolean[] seen = new boolean[rowMajorIndex.length];
        for (int i = 0; i < rowMajorIndex.length; i++) {
            int j = rowMajorIndex[i];
            if (j < 0 || j >= seen.length || seen[j]) {
                throw new IllegalArgumentException("storage order " + name + " of shape " + Arrays.toString(shape)
                        + " is not a permutation: position " + i + " holds row-major index " + j);
            }
            seen[j] = true;
        }
        this.name = name;
        this.shape = shape.clone();
        this.rowMajorIndex = rowMajorIndex.clone();
    }

    /** The layout's name. */
    public String name() { return name; }

    /** The shape the order is for. */
    public int[] shape() { return shape.clone(); }

    /** Number of values. */
    public int size() { return rowMajorIndex.length; }

    /** The row-major index of the value at memory position {@code i}. */
    public int rowMajorIndex(int i) { return rowMajorIndex[i]; }

    /**
     * Copies values held in this order into row-major order.
     *
     * @param from {@link #size()} floats in this order
     * @param to   {@link #size()} floats, overwritten in row-major order (not overlapping {@code from})
     */
    public void copyToRowMajor(MemorySegment from, MemorySegment to) {
        for (int i = 0; i < rowMajorIndex.length; i++) to.setAtIndex(F, rowMajorIndex[i], from.getAtIndex(F, i));
    }

    /**
     * Copies row-major values into this order.
     *
     * @param from {@link #size()} floats in row-major order
     * @param to   {@link #size()} floats, overwritten in this order (not overlapping {@code from})
     */
    public void copyFromRowMajor(MemorySegment from, MemorySegment to) {
        for (int i = 0; i < rowMajorIndex.length; i++) to.setAtIndex(F, i, from.getAtIndex(F, rowMajorIndex[i]));
    }

    /**
     * Puts the values of {@code memory}, held in this order, into row-major order in place.
     *
     * @param memory {@link #size()} floats
     * @param scratch at least {@link #size()} floats, overwritten
     */
    void toRowMajor(MemorySegment memory, float[] scratch) {
        copyToRowMajor(memory, MemorySegment.ofArray(scratch));
        MemorySegment.copy(scratch, 0, memory, F, 0, rowMajorIndex.length);
    }

    /**
     * Puts the row-major values of {@code memory} into this order in place.
     *
     * @param memory {@link #size()} floats
     * @param scratch at least {@link #size()} floats, overwritten
     */
    void fromRowMajor(MemorySegment memory, float[] scratch) {
        MemorySegment.copy(memory, F, 0, scratch, 0, rowMajorIndex.length);
        copyFromRowMajor(MemorySegment.ofArray(scratch), memory);
    }

    @Override
    public boolean equals(Object o) {
        return o == this || o instanceof StorageOrder s && Arrays.equals(shape, s.shape)
                && Arrays.equals(rowMajorIndex, s.rowMajorIndex);
    }

    @Override
    public int hashCode() { return 31 * Arrays.hashCode(shape) + Arrays.hashCode(rowMajorIndex); }

    @Override
    public String toString() { return "StorageOrder(" + name + ", " + Arrays.toString(shape) + ")"; }
}
