package dev.panamann.ops.java;

/**
 * {@link GemmKernel} in plain Java: cache blocks of b (KB x NB, 128 KiB) with an inner loop
 * over a row of c that the JIT auto-vectorizes. Zeros in a (ReLU outputs) are skipped.
 */
final class ScalarGemmKernel implements GemmKernel {
    static final ScalarGemmKernel INSTANCE = new ScalarGemmKernel();
    private static final int KB = 128, NB = 256;

    private ScalarGemmKernel() {}

    @Override
    public void multiplyAdd(float[] a, float[] b, float[] c, int rows, int n, int k) {
        for (int j0 = 0; j0 < n; j0 += NB) {
            int j1 = Math.min(n, j0 + NB);
            for (int p0 = 0; p0 < k; p0 += KB) {
                int p1 = Math.min(k, p0 + KB);
                for (int i = 0; i < rows; i++) {
                    int ci = i * n, ai = i * k;
                    for (int p = p0; p < p1; p++) {
                        float av = a[ai + p];
                        if (av == 0f) continue;
                        int bi = p * n;
                        for (int j = j0; j < j1; j++) c[ci + j] += av * b[bi + j];
                    }
                }
            }
        }
    }

    @Override
    public String name() { return "scalar"; }

    @Override
    public String toString() { return "ScalarGemmKernel"; }
}
