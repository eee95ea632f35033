package dev.panamann.tensor;

/**
 * A small seeded random number generator (SplitMix64) whose whole state is one {@code long},
 * so that it can be saved in a checkpoint and restored exactly. Gaussians come from the
 * Box-Muller transform; the spare value is part of the state too.
 */
public final class Rng {
    private long state;
    private double spare;
    private boolean hasSpare;

    public Rng(long seed) { this.state = seed; }

    public long nextLong() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1). */
    public double nextDouble() { return (nextLong() >>> 11) * 0x1.0p-53; }

    /** Uniform in [0, bound). */
    public int nextInt(int bound) {
        if (bound <= 0) throw new IllegalArgumentException("bound must be positive: " + bound);
        return (int) ((nextLong() >>> 33) % bound);
    }

    /** Standard normal. */
    public double nextGaussian() {
        if (hasSpare) {
            hasSpare = false;
            return spare;
        }
        double u, v, s;
        do {
            u = 2 * nextDouble() - 1;
            v = 2 * nextDouble() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        double m = Math.sqrt(-2 * Math.log(s) / s);
        spare = v * m;
        hasSpare = true;
        return u * m;
    }

    /** Fisher-Yates shuffle of {@code a} in place. */
    public void shuffle(int[] a) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = a[i]; a[i] = a[j]; a[j] = t;
        }
    }

    /** A random permutation of 0..n-1. */
    public int[] permutation(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        shuffle(p);
        return p;
    }

    /** The state, to save: restore with {@link #setState(long[])}. */
    public long[] getState() {
        return new long[] {state, Double.doubleToRawLongBits(spare), hasSpare ? 1 : 0};
    }

    public void setState(long[] s) {
        state = s[0];
        spare = Double.longBitsToDouble(s[1]);
        hasSpare = s[2] != 0;
    }
}
