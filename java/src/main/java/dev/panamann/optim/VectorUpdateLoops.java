package dev.panamann.optim;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link UpdateLoops} on the Vector API, loaded only when {@code jdk.incubator.vector} is present.
 * Whole vectors first (unaligned loads and stores: tensors may be views at any float offset),
 * then the remaining elements one by one with the same arithmetic.
 */
final class VectorUpdateLoops implements UpdateLoops {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder O = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    public void adam(MemorySegment w, MemorySegment dw, MemorySegment m, MemorySegment v, float lr, float b1, float oneMinusB1,
                     float b2, float oneMinusB2, float c1, float c2, float eps, float l2, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) {
            long off = (long) i * Float.BYTES;
            FloatVector g = grad(w, dw, l2, off);
            FloatVector mi = FloatVector.fromMemorySegment(S, m, off, O).mul(b1).add(g.mul(oneMinusB1));
            FloatVector vi = FloatVector.fromMemorySegment(S, v, off, O).mul(b2).add(g.mul(oneMinusB2).mul(g));
            mi.intoMemorySegment(m, off, O);
            vi.intoMemorySegment(v, off, O);
            FloatVector step = mi.mul(c1).mul(lr).div(vi.mul(c2).sqrt().add(eps));
            FloatVector.fromMemorySegment(S, w, off, O).sub(step).intoMemorySegment(w, off, O);
        }
        for (; i < to; i++) {
            float g = grad(w, dw, l2, i);
            float mi = b1 * m.getAtIndex(F, i) + oneMinusB1 * g;
            float vi = b2 * v.getAtIndex(F, i) + oneMinusB2 * g * g;
            m.setAtIndex(F, i, mi);
            v.setAtIndex(F, i, vi);
            w.setAtIndex(F, i, w.getAtIndex(F, i) - lr * (mi * c1) / ((float) Math.sqrt(vi * c2) + eps));
        }
    }

    @Override
    public void sgd(MemorySegment w, MemorySegment dw, float lr, float l2, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) {
            long off = (long) i * Float.BYTES;
            FloatVector.fromMemorySegment(S, w, off, O).sub(grad(w, dw, l2, off).mul(lr)).intoMemorySegment(w, off, O);
        }
        for (; i < to; i++) w.setAtIndex(F, i, w.getAtIndex(F, i) - lr * grad(w, dw, l2, i));
    }

    @Override
    public void momentum(MemorySegment w, MemorySegment dw, MemorySegment v, float lr, float mu, float l2, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) {
            long off = (long) i * Float.BYTES;
            FloatVector vi = FloatVector.fromMemorySegment(S, v, off, O).mul(mu).sub(grad(w, dw, l2, off).mul(lr));
            vi.intoMemorySegment(v, off, O);
            FloatVector.fromMemorySegment(S, w, off, O).add(vi).intoMemorySegment(w, off, O);
        }
        for (; i < to; i++) {
            float vi = mu * v.getAtIndex(F, i) - lr * grad(w, dw, l2, i);
            v.setAtIndex(F, i, vi);
            w.setAtIndex(F, i, w.getAtIndex(F, i) + vi);
        }
    }

    /** The gradient at byte offset {@code off}: {@code dw + l2 * w}, or {@code dw} when l2 is 0. */
    private static FloatVector grad(MemorySegment w, MemorySegment dw, float l2, long off) {
        FloatVector g = FloatVector.fromMemorySegment(S, dw, off, O);
        return l2 == 0f ? g : g.add(FloatVector.fromMemorySegment(S, w, off, O).mul(l2));
    }

    /** The gradient of element {@code i}: {@code dw + l2 * w}, or {@code dw} when l2 is 0. */
    private static float grad(MemorySegment w, MemorySegment dw, float l2, int i) {
        float g = dw.getAtIndex(F, i);
        return l2 == 0f ? g : g + l2 * w.getAtIndex(F, i);
    }

    @Override
    public double l2(MemorySegment w, MemorySegment g, float reg, int from, int to) {
        FloatVector acc = FloatVector.zero(S);
        int i = from;
        for (; i + L <= to; i += L) {
            long off = (long) i * Float.BYTES;
            FloatVector wi = FloatVector.fromMemorySegment(S, w, off, O);
            acc = acc.add(wi.mul(wi));
            FloatVector.fromMemorySegment(S, g, off, O).add(wi.mul(reg)).intoMemorySegment(g, off, O);
        }
        double sum = 0;
        for (int lane = 0; lane < L; lane++) sum += acc.lane(lane);
        for (; i < to; i++) {
            float wi = w.getAtIndex(F, i);
            sum += wi * wi;
            g.setAtIndex(F, i, g.getAtIndex(F, i) + reg * wi);
        }
        return sum;
    }

    @Override
    public String name() { return "vector (" + L + " floats)"; }
}
