package dev.panamann.models;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link L2.Pass} on the Vector API, loaded only when {@code jdk.incubator.vector} is present:
 * one pass over W and its gradient instead of two scalar loops (the sum's chain of dependent
 * double additions made the scalar pass as slow as a gemm of the layer). The gradient gets
 * {@code g + reg * w} lane by lane, a multiply then an add, the same bits as the scalar loop;
 * the squares are summed in double (exact products of floats), in another order than the
 * scalar loop, so the sum may differ from it in the last bits of a double.
 */
final class VectorL2 implements L2.Pass {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED; // the same shape: half the lanes
    private static final int L = S.length();
    private static final ByteOrder O = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    public double apply(float reg, MemorySegment w, MemorySegment g, int n) {
        DoubleVector s0 = DoubleVector.zero(D), s1 = DoubleVector.zero(D);
        int i = 0;
        for (; i + L <= n; i += L) {
            long off = (long) i * Float.BYTES;
            FloatVector wi = FloatVector.fromMemorySegment(S, w, off, O);
            DoubleVector lo = (DoubleVector) wi.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector hi = (DoubleVector) wi.convertShape(VectorOperators.F2D, D, 1);
            s0 = lo.fma(lo, s0);
            s1 = hi.fma(hi, s1);
            FloatVector.fromMemorySegment(S, g, off, O).add(wi.mul(reg)).intoMemorySegment(g, off, O);
        }
        double sum = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float v = w.getAtIndex(F, i);
            sum += (double) v * v;
            g.setAtIndex(F, i, g.getAtIndex(F, i) + reg * v);
        }
        return sum;
    }
}
