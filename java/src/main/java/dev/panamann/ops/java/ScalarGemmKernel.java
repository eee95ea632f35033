package dev.panamann.ops.java;

/**
 * {@link GemmKernel} in plain Java: panels of 16 columns, k in cache blocks, with an inner loop
 * over a panel row of c that the JIT auto-vectorizes. Zeros in a (ReLU outputs) are skipped.
 */
final class ScalarGemmKernel implements GemmKernel {
    static final ScalarGemmKernel INSTANCE = new ScalarGemmKernel();
    private static final int NR = 16, KB = 256;

    private ScalarGemmKernel() {}

    @Override
    public int panelWidth() { return NR; }

    @Override
    public void multiplyAddPacked(float[] a, float[] bp, int panels, float[] c, int ldc, int rows, int k, boolean accumulate) {
        if (!accumulate) {
            for (int i = 0; i < rows; i++) java.util.Arrays.fill(c, i * ldc, i * ldc + panels * NR, 0f);
        }
        for (int p0 = 0; p0 < k; p0 += KB) {
            int p1 = Math.min(k, p0 + KB);
            for (int q = 0; q < panels; q++) {
                int bq = q * k * NR;
                for (int i = 0; i < rows; i++) {
                    int ci = i * ldc + q * NR, ai = i * k;
                    for (int p = p0; p < p1; p++) {
                        float av = a[ai + p];
                        if (av == 0f) continue;
                        int bi = bq + p * NR;
                        for (int jj = 0; jj < NR; jj++) c[ci + jj] += av * bp[bi + jj];
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
