package dev.panamann.optim;

import dev.panamann.tensor.Param;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The L2 penalty {@code 0.5 * reg * sum(W^2)} of a model's weights and its gradient
 * {@code reg * W}, added to each weight's gradient in one pass over the memory.
 *
 * <p>The pass runs on the Vector API loops when {@code jdk.incubator.vector} is present (see
 * {@link Optimizer}), else on a scalar loop, and large penalties are split over the
 * {@link UpdateThreads} like an optimizer step. The gradient is the scalar
 * {@code g + reg * w} of every element whatever runs it. The sum is taken in blocks of
 * {@value #BLOCK} elements whose sums are added in order, so it does not depend on the number
 * of threads; the Vector API and scalar loops may differ in its last bits.
 */
public final class L2Penalty {
    /** Elements per block of the sum. */
    static final int BLOCK = 4096;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final L2Penalty SHARED = new L2Penalty();

    private final UpdateThreads.Task task = this::runPart;
    private UpdateLoops loops;
    private boolean loopsResolved;
    // the current call (guarded by the class lock)
    private List<Param> weights;
    private float reg;
    private UpdateLoops current;
    private int[] firstBlock = new int[0];
    private double[] blockSums = new double[0];

    private L2Penalty() {}

    /**
     * Adds {@code reg * W} to the gradient of each param of {@code weights} and returns
     * {@code 0.5 * reg * sum(W^2)} over all of them (0 without touching anything when reg is 0).
     *
     * @param weights the regularized params, any shapes, open
     * @param reg     regularization strength, a number &gt;= 0
     */
    public static double apply(List<Param> weights, float reg) {
        if (!(reg >= 0f) || Float.isInfinite(reg)) throw new IllegalArgumentException("reg must be a number >= 0, got " + reg);
        if (reg == 0f) return 0;
        synchronized (L2Penalty.class) {
            if (!SHARED.loopsResolved) {
                SHARED.loops = UpdateLoops.fromSettings(); // the settings at first use, like an optimizer's
                SHARED.loopsResolved = true;
            }
            return SHARED.run(weights, reg, SHARED.loops);
        }
    }

    /** {@link #apply} with the given loops (null: the scalar loop). */
    static double apply(List<Param> weights, float reg, UpdateLoops with) {
        synchronized (L2Penalty.class) {
            return SHARED.run(weights, reg, with);
        }
    }

    private double run(List<Param> ws, float r, UpdateLoops with) {
        int count = ws.size();
        if (firstBlock.length < count + 1) firstBlock = new int[count + 1];
        long total = 0;
        int blocks = 0;
        for (int i = 0; i < count; i++) {
            Param p = ws.get(i);
            p.value().checkOpen();
            p.grad().checkOpen();
            int n = p.value().sizeInt();
            if (p.grad().sizeInt() != n) {
                throw new IllegalArgumentException("L2 penalty: " + p.name() + " has " + n + " values but a gradient of "
                        + p.grad().sizeInt());
            }
            firstBlock[i] = blocks;
            blocks = Math.addExact(blocks, (n + BLOCK - 1) / BLOCK);
            total += n;
        }
        firstBlock[count] = blocks;
        if (blockSums.length < blocks) blockSums = new double[blocks];
        weights = ws;
        reg = r;
        current = with;
        try {
            UpdateThreads pool = total >= Optimizer.SPLIT_MIN_ELEMENTS ? UpdateThreads.shared() : null;
            if (pool != null && pool.parts() > 1 && pool.available() && accessibleBy(pool, ws)) pool.run(task);
            else runPart(0, 1);
        } finally {
            weights = null;
            current = null;
        }
        double sum = 0;
        for (int b = 0; b < blocks; b++) sum += blockSums[b];
        return 0.5 * r * sum;
    }

    private static boolean accessibleBy(UpdateThreads pool, List<Param> ws) {
        for (Param p : ws) {
            if (!pool.accessible(p.value().storage()) || !pool.accessible(p.grad().storage())) return false;
        }
        return true;
    }

    /** Blocks [blocks * part / parts, blocks * (part + 1) / parts) of all weights, in order. */
    private void runPart(int part, int parts) {
        int count = weights.size(), blocks = firstBlock[count];
        int from = (int) ((long) blocks * part / parts), to = (int) ((long) blocks * (part + 1) / parts);
        int i = 0;
        for (int b = from; b < to; b++) {
            while (firstBlock[i + 1] <= b) i++;
            Param p = weights.get(i);
            MemorySegment w = p.value().storage(), g = p.grad().storage(); // elementwise: any order both share
            int n = p.value().sizeInt();
            int lo = (b - firstBlock[i]) * BLOCK, hi = Math.min(n, lo + BLOCK);
            blockSums[b] = current != null ? current.l2(w, g, reg, lo, hi) : scalar(w, g, reg, lo, hi);
        }
    }

    /** The scalar block: four partial sums (a single chain of dependent adds runs at a quarter of the speed). */
    static double scalar(MemorySegment w, MemorySegment g, float reg, int from, int to) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = from;
        for (; i + 4 <= to; i += 4) {
            float w0 = w.getAtIndex(F, i), w1 = w.getAtIndex(F, i + 1), w2 = w.getAtIndex(F, i + 2), w3 = w.getAtIndex(F, i + 3);
            s0 += w0 * w0;
            s1 += w1 * w1;
            s2 += w2 * w2;
            s3 += w3 * w3;
            g.setAtIndex(F, i, g.getAtIndex(F, i) + reg * w0);
            g.setAtIndex(F, i + 1, g.getAtIndex(F, i + 1) + reg * w1);
            g.setAtIndex(F, i + 2, g.getAtIndex(F, i + 2) + reg * w2);
            g.setAtIndex(F, i + 3, g.getAtIndex(F, i + 3) + reg * w3);
        }
        for (; i < to; i++) {
            float wi = w.getAtIndex(F, i);
            s0 += wi * wi;
            g.setAtIndex(F, i, g.getAtIndex(F, i) + reg * wi);
        }
        return (s0 + s1) + (s2 + s3);
    }
}
