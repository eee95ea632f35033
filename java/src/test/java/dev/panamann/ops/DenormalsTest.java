package dev.panamann.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.dnnl.NativeLibraries;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class DenormalsTest {
    private static final float SUB = DenormalsProbe.SUB;

    @Test
    void settingParses() {
        assertTrue(Denormals.parseSetting("true"));
        assertTrue(Denormals.parseSetting(" ON "));
        assertTrue(Denormals.parseSetting("1"));
        assertFalse(Denormals.parseSetting("false"));
        assertFalse(Denormals.parseSetting("off"));
        assertFalse(Denormals.parseSetting("0"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Denormals.parseSetting("maybe"));
        assertTrue(e.getMessage().contains("maybe") && e.getMessage().contains("panamann.flushDenormals"), e.getMessage());
    }

    @Test
    void onByDefaultAndPerThread() throws Exception {
        assumeX86Linux();
        if (System.getProperty("panamann.flushDenormals") == null) assertTrue(Denormals.enabled(), "the default is on");
        // the per-thread checks below need flushing on (a suite run with -Dpanamann.flushDenormals=false skips them)
        Assumptions.assumeTrue(Denormals.enabled(), "the suite runs with -Dpanamann.flushDenormals=false");
        Thread t = new Thread(() -> {
            // a thread started from Java begins with the standard MXCSR
            assertFalse(Denormals.isFlushing());
            Denormals.applyToCurrentThread();
            assertTrue(Denormals.isFlushing());
            assertEquals(0f, DenormalsProbe.javaLoop());
            Denormals.setFlushing(false);
            assertFalse(Denormals.isFlushing());
            assertEquals(2 * 1024 * SUB, DenormalsProbe.javaLoop());
            Denormals.applyToCurrentThread(); // an explicit choice stays
            assertFalse(Denormals.isFlushing());
        });
        Throwable[] failure = new Throwable[1];
        t.setUncaughtExceptionHandler((th, e) -> failure[0] = e);
        t.start();
        t.join();
        if (failure[0] != null) throw new AssertionError(failure[0]);
    }

    @Test
    void everyComputePathFlushesWhenOn() throws Exception {
        assumeX86Linux();
        // in this JVM when it flushes (the default), else in a child JVM with flushing on
        Map<String, Float> r = Denormals.enabled() ? DenormalsProbe.run() : childProbe("-Dpanamann.flushDenormals=true");
        requireNativeResults(r);
        for (Map.Entry<String, Float> e : r.entrySet()) assertEquals(0f, e.getValue(), e.getKey() + " was not flushed: " + r);
    }

    @Test
    void everyComputePathIsExactWhenOff() throws Exception {
        assumeX86Linux();
        Map<String, Float> r = childProbe("-Dpanamann.flushDenormals=false");
        requireNativeResults(r);
        assertEquals(128 * SUB, r.get("javaGemm"), r.toString());
        assertEquals(2 * 1024 * SUB, r.get("javaLoop"), r.toString());
        if (r.containsKey("nativeGemm")) {
            assertEquals(128 * SUB, r.get("nativeGemm"), r.toString());
            assertEquals(27 * SUB, r.get("nativeConv"), r.toString());
            assertEquals(2 * 1024 * SUB, r.get("javaLoopAfterNative"), r.toString());
        }
    }

    private static void requireNativeResults(Map<String, Float> r) {
        if (Boolean.getBoolean("panamann.requireNative")) assertTrue(r.containsKey("nativeGemm"), r.toString());
    }

    private static void assumeX86Linux() {
        Assumptions.assumeTrue(Denormals.supported(), () -> "flush-to-zero unsupported: " + Denormals.unsupportedReason());
    }

    /** Runs {@link DenormalsProbe} in a child JVM with the given options and parses its output. */
    static Map<String, Float> childProbe(String... jvmOptions) throws IOException, InterruptedException {
        String javaBin = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
        List<String> cmd = new ArrayList<>(List.of(javaBin, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path")));
        for (String k : new String[] {"panamann.openblas", "panamann.dnnl", "panamann.gomp"}) {
            if (System.getProperty(k) != null) cmd.add("-D" + k + "=" + System.getProperty(k));
        }
        cmd.addAll(List.of(jvmOptions));
        cmd.add(DenormalsProbe.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        assertEquals(0, p.exitValue(), "child JVM failed:\n" + out);
        Map<String, Float> r = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && line.substring(eq + 1).trim().matches("-?\\d+")) {
                r.put(line.substring(0, eq), Float.intBitsToFloat(Integer.parseInt(line.substring(eq + 1).trim())));
            }
        }
        assertTrue(r.containsKey("javaGemm"), "no results from the child JVM:\n" + out);
        return r;
    }
}
