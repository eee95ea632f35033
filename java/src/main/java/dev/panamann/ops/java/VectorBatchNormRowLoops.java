package dev.panamann.ops.java;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link BatchNormRowLoops} on the Vector API, loaded only when {@code jdk.incubator.vector} is
 * present: the lanes are channels of one row (whole vectors first, the remaining channels with the
 * scalar arithmetic), rows in order, so each channel's values and sums are the scalar loop's.
 */
final class VectorBatchNormRowLoops implements BatchNormRowLoops {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder O = ByteOrder.nativeOrder();

    private static FloatVector load(MemorySegment s, long element) {
        return FloatVector.fromMemorySegment(S, s, element * Float.BYTES, O);
    }

    @Override
    public void sums(MemorySegment x, int n, int c, float[] s1) {
        for (int i = 0; i < n; i++) {
            long base = (long) i * c;
            int ch = 0;
            for (; ch + L <= c; ch += L) FloatVector.fromArray(S, s1, ch).add(load(x, base + ch)).intoArray(s1, ch);
            for (; ch < c; ch++) s1[ch] += x.getAtIndex(F, base + ch);
        }
    }

    @Override
    public void squaredDeviations(MemorySegment x, int n, int c, float[] mu, float[] s2) {
        for (int i = 0; i < n; i++) {
            long base = (long) i * c;
            int ch = 0;
            for (; ch + L <= c; ch += L) {
                FloatVector d = load(x, base + ch).sub(FloatVector.fromArray(S, mu, ch));
                FloatVector.fromArray(S, s2, ch).add(d.mul(d)).intoArray(s2, ch);
            }
            for (; ch < c; ch++) {
                float d = x.getAtIndex(F, base + ch) - mu[ch];
                s2[ch] += d * d;
            }
        }
    }

    @Override
    public void normalize(MemorySegment x, MemorySegment out, int n, int c, float[] mu, float[] scale, float[] shift) {
        for (int i = 0; i < n; i++) {
            long base = (long) i * c;
            int ch = 0;
            for (; ch + L <= c; ch += L) {
                load(x, base + ch).sub(FloatVector.fromArray(S, mu, ch)).mul(FloatVector.fromArray(S, scale, ch))
                        .add(FloatVector.fromArray(S, shift, ch)).intoMemorySegment(out, (base + ch) * Float.BYTES, O);
            }
            for (; ch < c; ch++) {
                out.setAtIndex(F, base + ch, (x.getAtIndex(F, base + ch) - mu[ch]) * scale[ch] + shift[ch]);
            }
        }
    }

    @Override
    public void gradientSums(MemorySegment x, MemorySegment dout, int n, int c, float[] mu, float[] sd, float[] sdx) {
        for (int i = 0; i < n; i++) {
            long base = (long) i * c;
            int ch = 0;
            for (; ch + L <= c; ch += L) {
                FloatVector d = load(dout, base + ch);
                FloatVector.fromArray(S, sd, ch).add(d).intoArray(sd, ch);
                FloatVector.fromArray(S, sdx, ch).add(d.mul(load(x, base + ch).sub(FloatVector.fromArray(S, mu, ch))))
                        .intoArray(sdx, ch);
            }
            for (; ch < c; ch++) {
                float d = dout.getAtIndex(F, base + ch);
                sd[ch] += d;
                sdx[ch] += d * (x.getAtIndex(F, base + ch) - mu[ch]);
            }
        }
    }

    @Override
    public void inputGradient(MemorySegment x, MemorySegment dout, MemorySegment dx, int n, int c, float m, float[] mu,
                              float[] invStd, float[] k, float[] sd, float[] sdx) {
        for (int i = 0; i < n; i++) {
            long base = (long) i * c;
            int ch = 0;
            for (; ch + L <= c; ch += L) {
                FloatVector xhat = load(x, base + ch).sub(FloatVector.fromArray(S, mu, ch)).mul(FloatVector.fromArray(S, invStd, ch));
                FloatVector inner = load(dout, base + ch).mul(m).sub(FloatVector.fromArray(S, sd, ch))
                        .sub(xhat.mul(FloatVector.fromArray(S, sdx, ch)));
                FloatVector.fromArray(S, k, ch).mul(inner).intoMemorySegment(dx, (base + ch) * Float.BYTES, O);
            }
            for (; ch < c; ch++) {
                float xhat = (x.getAtIndex(F, base + ch) - mu[ch]) * invStd[ch];
                dx.setAtIndex(F, base + ch, k[ch] * (m * dout.getAtIndex(F, base + ch) - sd[ch] - xhat * sdx[ch]));
            }
        }
    }
}
