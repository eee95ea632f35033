package dev.panamann.testutil;

import dev.panamann.ops.java.JavaOps;
import dev.panamann.ops.dnnl.NativeLibraries;
import dev.panamann.ops.dnnl.NativeOps;
import dev.panamann.ops.Ops;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * The backends tests run on: pure Java always, native when its libraries load. Set
 * {@code -Dpanamann.requireNative=true} (CI does) to make a missing native library a failure
 * instead of a skip.
 */
public final class Backs {
    private static JavaOps java;
    private static NativeOps nat;

    private Backs() {}

    public static synchronized Ops java() {
        if (java == null) java = new JavaOps(2);
        return java;
    }

    /** The native backend; skips the test (or fails it when native is required) if unavailable. */
    public static synchronized Ops nativeOps() {
        if (nat == null) {
            if (!NativeLibraries.available() && !Boolean.getBoolean("panamann.requireNative")) {
                Assumptions.abort("native libraries not installed");
            }
            nat = new NativeOps(2);
        }
        return nat;
    }

    /** Both backends (native only when available), for parameterized tests. */
    public static List<Ops> all() {
        List<Ops> l = new ArrayList<>();
        l.add(java());
        if (NativeLibraries.available() || Boolean.getBoolean("panamann.requireNative")) l.add(nativeOps());
        return l;
    }
}
