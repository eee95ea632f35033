package dev.panamann.ops.dnnl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.java.JavaOps;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BlasCoreTest {
    /** Sapphire Rapids (as /proc/cpuinfo lists it, abridged), a Zen 3 and an old SSE-only CPU. */
    static final Set<String> SAPPHIRE = Set.of("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512cd", "avx512bw",
            "avx512vl", "avx512_bf16", "amx_tile");
    static final Set<String> ZEN3 = Set.of("sse4_2", "avx", "avx2", "fma", "bmi2");
    static final Set<String> OLD = Set.of("sse", "sse2", "pni", "ssse3", "sse4_1");

    @Test
    void autoPicksTheBestKernelSetTheCpuSupports() {
        assertEquals("SkylakeX", BlasCore.choose("auto", null, SAPPHIRE).core());
        assertEquals("SkylakeX", BlasCore.choose(null, null, SAPPHIRE).core());
        assertEquals("Haswell", BlasCore.choose("auto", null, ZEN3).core());
        assertNull(BlasCore.choose("auto", null, OLD).core());
        assertNull(BlasCore.choose("auto", null, null).core(), "unknown CPU: OpenBLAS decides");
        // AVX-512 F alone (Knights Landing) is not enough for the SkylakeX kernels
        assertEquals("Haswell", BlasCore.choose("auto", null, Set.of("avx2", "fma", "avx512f", "avx512cd")).core());
        // AVX without FMA: no selection
        assertNull(BlasCore.choose("auto", null, Set.of("avx", "avx2")).core());
    }

    @Test
    void aValueThatIsSetAlwaysWins() {
        BlasCore.Choice c = BlasCore.choose("auto", "Prescott", SAPPHIRE);
        assertNull(c.core());
        assertTrue(c.reason().contains("OPENBLAS_CORETYPE=Prescott"), c.reason());
        assertNull(BlasCore.choose("Haswell", "Zen", SAPPHIRE).core(), "not even an explicit setting overrides it");
    }

    @Test
    void settingTurnsItOffOrNamesTheCore() {
        assertNull(BlasCore.choose("off", null, SAPPHIRE).core());
        assertNull(BlasCore.choose("OFF", null, SAPPHIRE).core());
        assertEquals("Haswell", BlasCore.choose("Haswell", null, SAPPHIRE).core());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BlasCore.choose("Sky lake;", null, SAPPHIRE));
        assertTrue(e.getMessage().contains("panamann.blasCore"), e.getMessage());
    }

    @Test
    void selfCheckPassesACorrectGemmAndCatchesWrongOnes() {
        try (JavaOps jops = new JavaOps(1)) {
            BlasCore.Gemm good = (ta, tb, m, n, k, alpha, a, b, beta, c) -> {
                try (Arena t = Arena.ofConfined()) {
                    MemorySegment sc = t.allocateFrom(ValueLayout.JAVA_FLOAT, c);
                    jops.gemm(ta, tb, m, n, k, alpha, t.allocateFrom(ValueLayout.JAVA_FLOAT, a), t.allocateFrom(ValueLayout.JAVA_FLOAT, b), beta, sc);
                    MemorySegment.copy(sc, ValueLayout.JAVA_FLOAT, 0, c, 0, c.length);
                }
            };
            assertNull(BlasCore.selfCheck(good));
            // ignores transB: caught on the transposed cases
            BlasCore.Gemm noTransB = (ta, tb, m, n, k, alpha, a, b, beta, c) -> good.run(ta, false, m, n, k, alpha, a, b, beta, c);
            assertNotNull(BlasCore.selfCheck(noTransB));
            // one element off by 1e-3
            BlasCore.Gemm oneOff = (ta, tb, m, n, k, alpha, a, b, beta, c) -> {
                good.run(ta, tb, m, n, k, alpha, a, b, beta, c);
                c[c.length / 2] += 1e-2f;
            };
            String why = BlasCore.selfCheck(oneOff);
            assertNotNull(why);
            assertTrue(why.contains("sgemm(transA=false, transB=false)"), why);
            // NaN output
            BlasCore.Gemm nan = (ta, tb, m, n, k, alpha, a, b, beta, c) -> java.util.Arrays.fill(c, Float.NaN);
            assertNotNull(BlasCore.selfCheck(nan));
        }
    }

    @Test
    void nativeSgemmPassesTheSelfCheck() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeLibraries.available() || Boolean.getBoolean("panamann.requireNative"));
        try (NativeOps ops = new NativeOps(2, "openblas")) {
            assertNull(BlasCore.selfCheck((ta, tb, m, n, k, alpha, a, b, beta, c) -> {
                try (Arena t = Arena.ofConfined()) {
                    MemorySegment sc = t.allocateFrom(ValueLayout.JAVA_FLOAT, c);
                    ops.gemm(ta, tb, m, n, k, alpha, t.allocateFrom(ValueLayout.JAVA_FLOAT, a), t.allocateFrom(ValueLayout.JAVA_FLOAT, b), beta, sc);
                    MemorySegment.copy(sc, ValueLayout.JAVA_FLOAT, 0, c, 0, c.length);
                }
            }));
            assertNull(NativeOps.blasFallback(), "the selected core passed its check at start-up");
            String d = ops.describe();
            assertTrue(d.startsWith("backend native, 2 threads, OpenBLAS ") && d.contains(" core ") && d.contains("oneDNN 2.")
                    && d.contains(" ISA ") && d.contains(", gemm OpenBLAS (set by panamann.gemm), ") && d.contains("flush denormals "), d);
        }
    }

    @Test
    void theFallbackGemmPassesTheSelfCheck() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeLibraries.available() || Boolean.getBoolean("panamann.requireNative"));
        try (NativeOps ops = new NativeOps(2)) {
            assertNull(BlasCore.selfCheck((ta, tb, m, n, k, alpha, a, b, beta, c) -> {
                try (Arena t = Arena.ofConfined()) {
                    MemorySegment sc = t.allocateFrom(ValueLayout.JAVA_FLOAT, c);
                    NativeOps.dnnlSgemm(ta, tb, m, n, k, alpha, t.allocateFrom(ValueLayout.JAVA_FLOAT, a), ta ? m : k,
                            t.allocateFrom(ValueLayout.JAVA_FLOAT, b), tb ? k : n, beta, sc, n);
                    MemorySegment.copy(sc, ValueLayout.JAVA_FLOAT, 0, c, 0, c.length);
                }
            }));
        }
    }

    @Test
    void isaNames() {
        assertEquals("avx512_core", NativeOps.isaName(dev.panamann.bindings.dnnl.dnnl_h.dnnl_cpu_isa_avx512_core()));
        assertEquals("avx2", NativeOps.isaName(dev.panamann.bindings.dnnl.dnnl_h.dnnl_cpu_isa_avx2()));
        assertEquals("0x12345", NativeOps.isaName(0x12345));
    }
}
