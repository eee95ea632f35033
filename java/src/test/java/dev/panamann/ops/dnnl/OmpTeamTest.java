package dev.panamann.ops.dnnl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panamann.ops.Denormals;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class OmpTeamTest {

    @Test
    void everyThreadOfTheTeamGetsTheCallersFlushingState() throws Exception {
        Assumptions.assumeTrue(Denormals.supported(), "flush-to-zero unsupported here");
        Assumptions.assumeTrue(NativeLibraries.available() || Boolean.getBoolean("panamann.requireNative"), "native libraries not installed");
        // what is checked is how flushing reaches the team when it is on (the default)
        Assumptions.assumeTrue(Denormals.enabled(), "the suite runs with -Dpanamann.flushDenormals=false");
        Object[] r = new Object[2];
        Thread t = new Thread(() -> {
            // this thread's team is created while it does not flush: its threads do not either
            Denormals.setFlushing(false);
            try (NativeOps first = new NativeOps(2)) {
                first.beforeNativeCall();
                r[0] = OmpTeam.teamMxcsr(2, 500);
            }
            // a second backend hands the caller's state, now flushing, to the existing team
            Denormals.setFlushing(true);
            try (NativeOps second = new NativeOps(2)) {
                second.beforeNativeCall();
                r[1] = OmpTeam.teamMxcsr(2, 500);
            }
        });
        Throwable[] failure = new Throwable[1];
        t.setUncaughtExceptionHandler((th, e) -> failure[0] = e);
        t.start();
        t.join();
        if (failure[0] != null) throw new AssertionError(failure[0]);
        for (int mx : (Set<Integer>) r[0]) assertEquals(0, mx & Denormals.FTZ_DAZ, "not flushing: " + r[0]);
        for (int mx : (Set<Integer>) r[1]) assertEquals(Denormals.FTZ_DAZ, mx & Denormals.FTZ_DAZ, "every thread flushes: " + r[1]);
    }
}
