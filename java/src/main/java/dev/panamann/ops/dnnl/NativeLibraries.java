package dev.panamann.ops.dnnl;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds and loads the native libraries the {@link NativeOps} backend calls: OpenBLAS
 * ({@code libopenblas.so.0}), oneDNN 2.x ({@code libdnnl.so.2}) and the OpenMP runtime both run
 * on ({@code libgomp.so.1}).
 *
 * <p>Each library is looked up by its soname in, in order: the path given by a system property
 * or environment variable (a file, or a folder holding the soname), {@code java.library.path},
 * {@code LD_LIBRARY_PATH}, and the system's library folders. For OpenBLAS, Debian's OpenMP build
 * ({@code openblas-openmp/}) is preferred to whatever the {@code libopenblas.so.0} alternative
 * points at: oneDNN runs on OpenMP and the pthread build of OpenBLAS fights it for the cores.
 *
 * <table>
 * <caption>Overrides</caption>
 * <tr><th>library</th><th>system property</th><th>environment variable</th></tr>
 * <tr><td>OpenBLAS</td><td>{@code panamann.openblas}</td><td>{@code PANAMANN_OPENBLAS}</td></tr>
 * <tr><td>oneDNN</td><td>{@code panamann.dnnl}</td><td>{@code PANAMANN_DNNL}</td></tr>
 * <tr><td>libgomp</td><td>{@code panamann.gomp}</td><td>{@code PANAMANN_GOMP}</td></tr>
 * </table>
 */
public final class NativeLibraries {

    /** One native library: soname, override keys and the Debian packages that provide it. */
    public enum Lib {
        GOMP("libgomp.so.1", "panamann.gomp", "PANAMANN_GOMP", "libgomp1"),
        OPENBLAS("libopenblas.so.0", "panamann.openblas", "PANAMANN_OPENBLAS", "libopenblas0-openmp libopenblas-dev"),
        DNNL("libdnnl.so.2", "panamann.dnnl", "PANAMANN_DNNL", "libdnnl2 (or libdnnl-dev)");

        final String soname, property, env, debianPackages;

        Lib(String soname, String property, String env, String debianPackages) {
            this.soname = soname;
            this.property = property;
            this.env = env;
            this.debianPackages = debianPackages;
        }
    }

    private static final String[] SYSTEM_DIRS = {
        "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64", "/lib64", "/usr/local/lib", "/usr/lib", "/lib"
    };

    private static volatile List<Path> loaded;
    private static volatile RuntimeException failure;

    private NativeLibraries() {}

    /**
     * Loads all three libraries once per process (later calls return at once) and returns the
     * paths that were loaded.
     *
     * @throws UnsatisfiedLinkError naming the missing library, every place it looked and the
     *                              apt package to install
     */
    public static synchronized List<Path> load() {
        if (loaded != null) return loaded;
        if (failure != null) throw copy(failure);
        List<Path> paths = new ArrayList<>();
        for (Lib lib : Lib.values()) {
            Path p = locate(lib);
            if (lib == Lib.GOMP) configureOpenMp();
            if (lib == Lib.OPENBLAS) configureBlasCore();
            try {
                System.load(p.toString());
            } catch (UnsatisfiedLinkError e) {
                throw remember(new UnsatisfiedLinkError("could not load " + lib.soname + " from " + p + ": " + e.getMessage()
                        + ". Install it with: apt-get install " + lib.debianPackages));
            }
            paths.add(p);
        }
        loaded = List.copyOf(paths);
        return loaded;
    }

    private static volatile BlasCore.Choice blasChoice;
    private static volatile String waitPolicy = "not configured";

    /**
     * The {@code OPENBLAS_CORETYPE} this process set before loading OpenBLAS ({@link BlasCore}),
     * or null when it set none (the reason is in {@link #blasCoreReason()}).
     */
    public static String selectedBlasCore() {
        BlasCore.Choice c = blasChoice;
        return c == null ? null : c.core();
    }

    /** Why the BLAS core was or was not selected here. */
    public static String blasCoreReason() {
        BlasCore.Choice c = blasChoice;
        return c == null ? "libraries not loaded" : c.reason();
    }

    /** The OpenMP wait policy in effect and where it came from, e.g. {@code passive (default)}. */
    public static String ompWaitPolicy() { return waitPolicy; }

    /** True when idle OpenMP threads sleep at once (wait policy passive): every parallel region then wakes them. */
    static boolean ompThreadsSleep() {
        String p = waitPolicy;
        return p != null && p.toLowerCase(java.util.Locale.ROOT).replace("omp_wait_policy=", "").startsWith("passive");
    }

    private static void configureBlasCore() {
        String setting = setting("panamann.blasCore", "PANAMANN_BLAS_CORE");
        BlasCore.Choice c = BlasCore.choose(setting, NativeEnv.get("OPENBLAS_CORETYPE"),
                setting == null || setting.isBlank() || setting.trim().equalsIgnoreCase("auto") ? BlasCore.cpuFlags() : null);
        if (c.core() != null && !NativeEnv.setIfUnset("OPENBLAS_CORETYPE", c.core())) {
            c = new BlasCore.Choice(null, "OPENBLAS_CORETYPE could not be set");
        }
        blasChoice = c;
    }

    /**
     * The OpenMP wait policy: {@code panamann.ompWait} / {@code PANAMANN_OMP_WAIT} = {@code passive}
     * (default: idle OpenMP threads sleep at once instead of spinning, which keeps a step from
     * collapsing when another process takes a core), {@code active}, or {@code default}
     * (libgomp's own: spin, then sleep). Applied as {@code OMP_WAIT_POLICY} before libgomp loads,
     * only when neither {@code OMP_WAIT_POLICY} nor {@code GOMP_SPINCOUNT} is set.
     */
    private static void configureOpenMp() {
        String s = setting("panamann.ompWait", "PANAMANN_OMP_WAIT");
        String v = s == null || s.isBlank() ? "passive" : s.trim().toLowerCase(java.util.Locale.ROOT);
        if (!v.equals("passive") && !v.equals("active") && !v.equals("default")) {
            throw new IllegalArgumentException("panamann.ompWait must be passive, active or default, got '" + s + "'");
        }
        String user = NativeEnv.get("OMP_WAIT_POLICY"), spin = NativeEnv.get("GOMP_SPINCOUNT");
        if (user != null || spin != null) {
            waitPolicy = (user != null ? "OMP_WAIT_POLICY=" + user : "") + (user != null && spin != null ? " " : "")
                    + (spin != null ? "GOMP_SPINCOUNT=" + spin : "") + " (environment)";
        } else if (v.equals("default")) {
            waitPolicy = "libgomp default";
        } else if (NativeEnv.libraryMapped("libgomp.so")) {
            waitPolicy = "libgomp default (libgomp was loaded before panama-nn)";
        } else {
            waitPolicy = NativeEnv.setIfUnset("OMP_WAIT_POLICY", v) ? v + (s == null || s.isBlank() ? " (default)" : "") : "libgomp default";
        }
    }

    /** A setting: the system property, else the environment variable (null when neither is set). */
    static String setting(String property, String env) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) v = System.getenv(env);
        return v;
    }

    /** True when {@link #load()} succeeds. */
    public static boolean available() {
        try {
            load();
            return true;
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
    }

    /** Where {@code lib} would be loaded from; throws the descriptive error when it is nowhere. */
    public static Path locate(Lib lib) {
        Set<Path> tried = new LinkedHashSet<>();
        String override = System.getProperty(lib.property);
        String source = "-D" + lib.property;
        if (override == null || override.isBlank()) {
            override = System.getenv(lib.env);
            source = "$" + lib.env;
        }
        if (override != null && !override.isBlank()) {
            Path o = Path.of(override);
            Path candidate = Files.isDirectory(o) ? o.resolve(lib.soname) : o;
            if (Files.isRegularFile(candidate)) return candidate.toAbsolutePath();
            throw remember(new UnsatisfiedLinkError(lib.soname + " not found at " + candidate + " (given by " + source
                    + "). Point it at the library file or its folder, or unset it to search the system."));
        }
        List<Path> dirs = new ArrayList<>();
        if (lib == Lib.OPENBLAS) {
            for (String d : SYSTEM_DIRS) dirs.add(Path.of(d, "openblas-openmp"));
        }
        addPathList(dirs, System.getProperty("java.library.path"));
        addPathList(dirs, System.getenv("LD_LIBRARY_PATH"));
        for (String d : SYSTEM_DIRS) dirs.add(Path.of(d));
        for (Path d : dirs) {
            Path candidate = d.resolve(lib.soname);
            if (!tried.add(candidate)) continue;
            if (Files.isRegularFile(candidate)) return candidate;
        }
        throw remember(new UnsatisfiedLinkError(lib.soname + " not found. Looked in: " + tried
                + ". Install it with: apt-get install " + lib.debianPackages + ", or set -D" + lib.property
                + " / $" + lib.env + " to its path."));
    }

    private static void addPathList(List<Path> dirs, String list) {
        if (list == null) return;
        for (String s : list.split(java.io.File.pathSeparator)) {
            if (!s.isBlank()) dirs.add(Path.of(s));
        }
    }

    private static <T extends Throwable> T remember(T t) {
        if (t instanceof UnsatisfiedLinkError u) failure = new IllegalStateException(u.getMessage());
        return t;
    }

    private static UnsatisfiedLinkError copy(RuntimeException f) {
        return new UnsatisfiedLinkError(f.getMessage());
    }
}
