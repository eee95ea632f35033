package dev.panamann.ops;

import dev.panamann.ops.dnnl.NativeLibraries;
import dev.panamann.ops.dnnl.NativeOps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BackendsTest {

    @Test
    void missingLibraryErrorNamesLibraryPlaceAndPackage() {
        String key = "panamann.dnnl";
        String old = System.getProperty(key);
        System.setProperty(key, "/nonexistent/dir/libdnnl.so.2");
        try {
            UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLibraries.locate(NativeLibraries.Lib.DNNL));
            assertTrue(e.getMessage().contains("libdnnl.so.2"), e.getMessage());
            assertTrue(e.getMessage().contains("/nonexistent/dir"), e.getMessage());
            assertTrue(e.getMessage().contains("-Dpanamann.dnnl"), e.getMessage());
        } finally {
            if (old == null) System.clearProperty(key);
            else System.setProperty(key, old);
        }
    }

    @Test
    void unknownBackendIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("cuda"));
        assertTrue(e.getMessage().contains("cuda"));
    }

    @Test
    void javaBackendByName() {
        try (Ops ops = Backends.create("java")) {
            assertEquals("java", ops.name());
        }
    }

    @Test
    void threadSettingReachesBackends() {
        try (Ops ops = Backends.create("java")) {
            ops.setThreads(1);
            assertEquals(1, ops.threads());
            assertThrows(IllegalArgumentException.class, () -> ops.setThreads(0));
        }
        if (NativeLibraries.available() || Boolean.getBoolean("panamann.requireNative")) {
            try (NativeOps ops = new NativeOps(1)) {
                assertEquals(1, ops.threads());
                assertEquals(1, dev.panamann.bindings.omp.omp_h.omp_get_max_threads());
                ops.setThreads(2);
                assertEquals(2, dev.panamann.bindings.omp.omp_h.omp_get_max_threads());
                assertTrue(ops.describe().contains("oneDNN 2."), ops.describe());
            }
        }
    }

    @Test
    void describeNamesTheJavaLoops() {
        // the test JVM runs with --add-modules jdk.incubator.vector (java/pom.xml)
        boolean module = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        try (Ops ops = Backends.create("java")) {
            String d = Backends.describe(ops);
            assertTrue(d.contains(", Java loops " + (module ? "vector (" : "scalar")), d);
        }
        if (NativeLibraries.available() || Boolean.getBoolean("panamann.requireNative")) {
            try (NativeOps ops = new NativeOps(1)) {
                assertTrue(ops.describe().contains(", Java loops " + (module ? "vector (" : "scalar")), ops.describe());
            }
        }
    }
}
