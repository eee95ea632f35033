package dev.panamann.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link ElementwiseLoops} on the Vector API, loaded only when {@code jdk.incubator.vector} is
 * present. Whole vectors first (unaligned loads and stores: tensors may be views at any float
 * offset), then the remaining elements (or columns) with {@link Elementwise}'s scalar loops.
 *
 * <p>The vector work is done in small methods called once per chunk of at most {@link #CHUNK}
 * floats (or per matrix row). Vector API code runs boxed, tens of times slower than a scalar
 * loop, until C2 has compiled it, and C2 compiles a method after some hundreds of calls (a long
 * loop inside one call only gets there through on-stack replacement, which the profiled C1 code
 * checks too rarely for loops this short): one call per layer and step would keep a short
 * training run on the slow code throughout.
 */
final class VectorElementwiseLoops implements ElementwiseLoops {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    private static final int L = S.length();
    private static final ByteOrder O = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Floats per call of the inner loops of relu and its gradient: a multiple of any vector length. */
    private static final int CHUNK = 512;

    @Override
    public void relu(MemorySegment x, MemorySegment out, int n) {
        int whole = n - n % L;
        for (int i = 0; i < whole; i += CHUNK) reluVectors(x, out, i, Math.min(i + CHUNK, whole));
        Elementwise.scalarRelu(x, out, whole, n);
    }

    /** {@link #relu} over the whole vectors of elements [from, to). */
    private static void reluVectors(MemorySegment x, MemorySegment out, int from, int to) {
        for (int i = from; i < to; i += L) {
            long off = (long) i * Float.BYTES;
            // lanewise MAX is Math.max: NaN stays NaN, max(-0, +0) is +0
            FloatVector.fromMemorySegment(S, x, off, O).max(0f).intoMemorySegment(out, off, O);
        }
    }

    @Override
    public void reluBackward(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
        int whole = n - n % L;
        for (int i = 0; i < whole; i += CHUNK) reluBackwardVectors(out, dout, dx, i, Math.min(i + CHUNK, whole));
        Elementwise.scalarReluBackward(out, dout, dx, whole, n);
    }

    /** {@link #reluBackward} over the whole vectors of elements [from, to). */
    private static void reluBackwardVectors(MemorySegment out, MemorySegment dout, MemorySegment dx, int from, int to) {
        for (int i = from; i < to; i += L) {
            long off = (long) i * Float.BYTES;
            // the scalar loop's mask on the raw bits: all ones unless out's bits are all zero
            IntVector bits = IntVector.fromMemorySegment(I, out, off, O);
            IntVector mask = bits.or(bits.neg()).lanewise(VectorOperators.ASHR, 31);
            IntVector.fromMemorySegment(I, dout, off, O).and(mask).intoMemorySegment(dx, off, O);
        }
    }

    @Override
    public void addToRows(MemorySegment m, MemorySegment row, int rows, int cols) {
        int cv = cols - cols % L;
        if (cv > 0) {
            for (int r = 0; r < rows; r++) {
                long base = (long) r * cols * Float.BYTES;
                add(m, base, row, 0, cv);
            }
        }
        if (cv < cols) Elementwise.scalarAddToRows(m, row, rows, cols, cv);
    }

    @Override
    public void columnSums(MemorySegment m, int rows, int cols, MemorySegment dst) {
        int cv = cols - cols % L;
        if (cv > 0) {
            // the scalar loop's order: each sum from 0, the rows added one after another
            for (int j = 0; j < cv; j++) dst.setAtIndex(F, j, 0f);
            for (int r = 0; r < rows; r++) add(dst, 0, m, (long) r * cols * Float.BYTES, cv);
        }
        if (cv < cols) Elementwise.scalarColumnSums(m, rows, cols, cv, dst);
    }

    /**
     * {@code a[i] = a[i] + b[i]} for the {@code count} floats (a multiple of the vector length)
     * from byte offsets {@code aOff} of a and {@code bOff} of b.
     */
    private static void add(MemorySegment a, long aOff, MemorySegment b, long bOff, int count) {
        long end = aOff + (long) count * Float.BYTES, d = bOff - aOff;
        for (long off = aOff; off < end; off += (long) L * Float.BYTES) {
            FloatVector.fromMemorySegment(S, a, off, O).add(FloatVector.fromMemorySegment(S, b, off + d, O))
                    .intoMemorySegment(a, off, O);
        }
    }

    @Override
    public String name() { return "vector (" + L + " floats)"; }
}
