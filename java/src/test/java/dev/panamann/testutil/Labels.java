package dev.panamann.testutil;

import dev.panamann.tensor.Rng;

/** Random class labels for tests. */
public final class Labels {
    private Labels() {}

    /** {@code n} labels drawn uniformly from [0, c) with {@code rng}. */
    public static int[] random(Rng rng, int n, int c) {
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = rng.nextInt(c);
        return y;
    }
}
