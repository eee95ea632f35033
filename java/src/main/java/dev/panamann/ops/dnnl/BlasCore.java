package dev.panamann.ops.dnnl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Chooses OpenBLAS's kernel set ({@code OPENBLAS_CORETYPE}) before the library is loaded.
 *
 * <p>A DYNAMIC_ARCH OpenBLAS picks its kernels when it loads, from the CPU model; a CPU newer than
 * the OpenBLAS release is not in its table and gets an old, generic core: Debian 12's OpenBLAS
 * 0.3.21 runs its SSE3 "Prescott" kernels on Sapphire and Emerald Rapids (Intel family 6, models
 * 143 and 207), 5 times slower than its AVX-512 kernels, and AVX2 "Haswell"-class kernels on
 * AMD Zen 4, which has AVX-512. So, in {@code auto} mode, when neither the user nor the machine
 * has set {@code OPENBLAS_CORETYPE}, the variable is set from the CPU's features as
 * {@code /proc/cpuinfo} lists them (the kernel lists only what the OS enables):
 * {@code SkylakeX} with AVX-512 F, BW, DQ, VL and CD, {@code Haswell} with AVX2 and FMA, nothing
 * otherwise. These are the single-precision GEMM kernels OpenBLAS uses for every CPU with those
 * features it knows (Cooper Lake and Sapphire Rapids add only bfloat16 kernels; Zen uses the
 * Haswell ones), so where OpenBLAS recognizes the CPU the choice changes nothing, and where it
 * does not the choice restores the right kernels.
 *
 * <p>Setting: {@code panamann.blasCore} / {@code PANAMANN_BLAS_CORE}: {@code auto} (default),
 * {@code off} (leave OpenBLAS alone), or a core name passed as is (e.g. {@code Haswell}). A value
 * of {@code OPENBLAS_CORETYPE} that is already set always wins.
 */
public final class BlasCore {

    /** The outcome of {@link #choose}: the core to set (null: set nothing) and why. */
    public record Choice(String core, String reason) {}

    private BlasCore() {}

    /**
     * The selection rule, a pure function.
     *
     * @param setting          {@code auto}, {@code off} or a core name (null means auto)
     * @param openblasCoretype the current value of {@code OPENBLAS_CORETYPE}, or null
     * @param cpuFlags         the CPU's feature flags as {@code /proc/cpuinfo} names them, or
     *                         null when unknown
     */
    public static Choice choose(String setting, String openblasCoretype, Set<String> cpuFlags) {
        String s = setting == null || setting.isBlank() ? "auto" : setting.trim();
        if (openblasCoretype != null && !openblasCoretype.isBlank()) {
            return new Choice(null, "OPENBLAS_CORETYPE=" + openblasCoretype + " set by the environment");
        }
        if (s.equalsIgnoreCase("off")) return new Choice(null, "selection off");
        if (!s.equalsIgnoreCase("auto")) {
            if (!s.matches("[A-Za-z0-9_]+")) {
                throw new IllegalArgumentException("panamann.blasCore must be auto, off or an OpenBLAS core name such as SkylakeX or Haswell, got '" + s + "'");
            }
            return new Choice(s, "set by panamann.blasCore");
        }
        if (cpuFlags == null) return new Choice(null, "CPU features unknown");
        if (cpuFlags.containsAll(List.of("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"))) {
            return new Choice("SkylakeX", "auto: AVX-512");
        }
        if (cpuFlags.containsAll(List.of("avx2", "fma"))) return new Choice("Haswell", "auto: AVX2 + FMA");
        return new Choice(null, "auto: no AVX2, OpenBLAS's own choice");
    }

    /** The flags of the first processor in {@code /proc/cpuinfo}, or null when unreadable. */
    static Set<String> cpuFlags() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    int colon = line.indexOf(':');
                    if (colon < 0) return null;
                    return new HashSet<>(Arrays.asList(line.substring(colon + 1).trim().toLowerCase(Locale.ROOT).split("\\s+")));
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    /**
     * The gemm self-check: C = alpha op(A) op(B) + beta C through {@code gemm} for every
     * transpose combination on odd sizes, against a double-precision reference. Returns null when
     * every element is within {@code 1e-4 * (1 + |ref|)}, else what was wrong.
     */
    public static String selfCheck(Gemm gemm) {
        int m = 37, n = 29, k = 53;
        java.util.Random r = new java.util.Random(12345);
        float[] a = new float[m * k], b = new float[k * n], c0 = new float[m * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
        for (int i = 0; i < c0.length; i++) c0[i] = (float) r.nextGaussian();
        float alpha = 0.75f, beta = 0.5f;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                float[] c = c0.clone();
                gemm.run(ta, tb, m, n, k, alpha, a, b, beta, c);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int p = 0; p < k; p++) {
                            s += (double) (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                        }
                        double ref = alpha * s + beta * c0[i * n + j];
                        double got = c[i * n + j];
                        if (!(Math.abs(got - ref) <= 1e-4 * (1 + Math.abs(ref)))) {
                            return String.format(Locale.ROOT, "sgemm(transA=%b, transB=%b) C[%d,%d] = %s, expected %s", ta, tb, i, j, got, ref);
                        }
                    }
                }
            }
        }
        return null;
    }

    /** A row-major sgemm on float arrays, as the self-check calls it. */
    @FunctionalInterface
    public interface Gemm {
        void run(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, float[] b, float beta, float[] c);
    }
}
