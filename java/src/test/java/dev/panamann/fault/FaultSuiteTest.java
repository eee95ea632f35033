package dev.panamann.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.dnnl.NativeLibraries;
import dev.panamann.testutil.ChildJvm;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fault suite: cases whose failure would kill the process run in child JVMs, and the
 * test checks how the child ended. See docs/reliability.md for the catalogue.
 */
@Tag("fault")
class FaultSuiteTest {

    static void requireNative() {
        if (!NativeLibraries.available() && !Boolean.getBoolean("panamann.requireNative")) {
            Assumptions.abort("native libraries not installed");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"model", "backend", "plan"})
    void closingWhileAnotherThreadRunsOneDnnNeverCrashes(String mode) throws Exception {
        requireNative();
        ChildJvm.Result r = ChildJvm.run(List.of("-Xmx512m"), 120, CloseWhileRunning.class.getName(), mode, "12");
        assertFalse(r.crashed(), "the JVM crashed:\n" + r.output());
        assertEquals(0, r.exit(), r.output());
    }

    @Test
    void autoFallsBackToJavaForAWrongLibraryFile() throws Exception {
        requireNative();
        // a real shared library that is not oneDNN: it loads, but its symbols are missing
        String wrong = NativeLibraries.locate(NativeLibraries.Lib.GOMP).toString();
        ChildJvm.Result auto = ChildJvm.run(List.of("-Dpanamann.dnnl=" + wrong, "-Dpanamann.backend=auto"), 60,
                BackendChoice.class.getName());
        assertEquals(0, auto.exit(), auto.output());
        assertTrue(auto.output().contains("backend=java gemm=6.0"), auto.output());
        assertTrue(auto.output().contains("WARNING: native backend unavailable"), auto.output());
        ChildJvm.Result nat = ChildJvm.run(List.of("-Dpanamann.dnnl=" + wrong, "-Dpanamann.backend=native"), 60,
                BackendChoice.class.getName());
        assertNotEquals(0, nat.exit(), nat.output());
        assertFalse(nat.crashed(), nat.output());
    }
}
