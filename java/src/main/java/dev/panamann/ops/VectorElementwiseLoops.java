package dev.panamann.ops;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link ElementwiseLoops} on the Vector API, loaded only when {@code jdk.incubator.vector} is
 * present. Whole vectors first (unaligned loads and stores: tensors may be views at any float
 * offset), then the remaining elements with the scalar loop's arithmetic. Each lane computes what
 * the scalar loop computes for its element, so the results are the same to the bit (NaN payloads aside).
 */
final class VectorElementwiseLoops implements ElementwiseLoops {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> SI = IntVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder O = ByteOrder.nativeOrder();

    VectorElementwiseLoops() {
        if (SI.length() != L) throw new IllegalStateException("float and int vectors differ in lanes: " + L + " and " + SI.length());
    }

    private static FloatVector load(MemorySegment s, long element) {
        return FloatVector.fromMemorySegment(S, s, element * Float.BYTES, O);
    }

    private static void store(FloatVector v, MemorySegment s, long element) {
        v.intoMemorySegment(s, element * Float.BYTES, O);
    }

    @Override
    public void relu(MemorySegment x, MemorySegment out, int n) {
        int i = 0;
        for (; i + L <= n; i += L) store(load(x, i).max(0f), out, i); // lane-wise Math.max: NaN stays NaN
        for (; i < n; i++) out.setAtIndex(F, i, Math.max(x.getAtIndex(F, i), 0f));
    }

    @Override
    public void reluBackward(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            // as the scalar loop: zero where out's bits are 0 (out is +0), dout everywhere else
            VectorMask<Integer> zero = IntVector.fromMemorySegment(SI, out, (long) i * Float.BYTES, O).compare(VectorOperators.EQ, 0);
            IntVector.fromMemorySegment(SI, dout, (long) i * Float.BYTES, O).blend(0, zero)
                    .intoMemorySegment(dx, (long) i * Float.BYTES, O);
        }
        for (; i < n; i++) {
            int bits = Float.floatToRawIntBits(out.getAtIndex(F, i));
            int mask = (bits | -bits) >> 31;
            dx.setAtIndex(F, i, Float.intBitsToFloat(Float.floatToRawIntBits(dout.getAtIndex(F, i)) & mask));
        }
    }

    @Override
    public void axpy(float alpha, MemorySegment x, MemorySegment y, int n) {
        int i = 0;
        for (; i + L <= n; i += L) store(load(y, i).add(load(x, i).mul(alpha)), y, i);
        for (; i < n; i++) y.setAtIndex(F, i, y.getAtIndex(F, i) + alpha * x.getAtIndex(F, i));
    }

    @Override
    public void weightedSum(float a, MemorySegment x, float b, MemorySegment y, MemorySegment out, long from, long to) {
        long i = from;
        for (; i + L <= to; i += L) store(load(x, i).mul(a).add(load(y, i).mul(b)), out, i);
        for (; i < to; i++) out.setAtIndex(F, i, a * x.getAtIndex(F, i) + b * y.getAtIndex(F, i));
    }

    @Override
    public void add(MemorySegment a, MemorySegment b, MemorySegment out, int n) {
        int i = 0;
        for (; i + L <= n; i += L) store(load(a, i).add(load(b, i)), out, i);
        for (; i < n; i++) out.setAtIndex(F, i, a.getAtIndex(F, i) + b.getAtIndex(F, i));
    }

    @Override
    public void addToRows(MemorySegment m, MemorySegment row, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            long base = (long) r * cols;
            int j = 0;
            for (; j + L <= cols; j += L) store(load(m, base + j).add(load(row, j)), m, base + j);
            for (; j < cols; j++) m.setAtIndex(F, base + j, m.getAtIndex(F, base + j) + row.getAtIndex(F, j));
        }
    }

    @Override
    public void columnSums(MemorySegment m, int rows, int cols, MemorySegment dst) {
        for (int j = 0; j < cols; j++) dst.setAtIndex(F, j, 0f);
        for (int r = 0; r < rows; r++) { // each column summed in row order, as the scalar loop does
            long base = (long) r * cols;
            int j = 0;
            for (; j + L <= cols; j += L) store(load(dst, j).add(load(m, base + j)), dst, j);
            for (; j < cols; j++) dst.setAtIndex(F, j, dst.getAtIndex(F, j) + m.getAtIndex(F, base + j));
        }
    }

    @Override
    public String name() { return "vector (" + L + " floats)"; }
}
