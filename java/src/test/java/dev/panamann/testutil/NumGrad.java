package dev.panamann.testutil;

import dev.panamann.ops.Ops;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Tensor;
import java.util.List;
import java.util.function.DoubleSupplier;

/**
 * Test helpers: centered-difference gradients of a scalar loss, an error measure, and the
 * backends by name.
 *
 * <p>The scalar is {@code L = sum(out * dout)} for a fixed random {@code dout}, accumulated in
 * double, so that dL/dout = dout and the analytic gradients of an op's backward (fed with that
 * dout) are directly comparable with {@code (L(t + h) - L(t - h)) / (2h)}.
 */
public final class NumGrad {
    /** Step for float32 values of order 1: large enough that rounding in L stays small. */
    public static final double STEP = 1e-2;

    private NumGrad() {}

    /** The backends tests run on, by name ("java" always, "native" when available or required). */
    public static List<String> backends() {
        return Backs.all().stream().map(Ops::name).toList();
    }

    /** A backend by the name {@link #backends()} gives. */
    public static Ops ops(String name) {
        return name.equals("java") ? Backs.java() : Backs.nativeOps();
    }

    /** sum(a * b) in double. */
    public static double dot(Tensor a, Tensor b) {
        if (a.size() != b.size()) throw new IllegalArgumentException(a.shapeString() + " vs " + b.shapeString());
        double s = 0;
        for (long i = 0; i < a.size(); i++) s += (double) a.getFlat(i) * b.getFlat(i);
        return s;
    }

    /**
     * dL/dt by centered differences, perturbing each element of {@code t} in place (and putting
     * it back). The step actually taken is measured in float32, so rounding of t + h does not
     * bias the quotient.
     */
    public static double[] numeric(Tensor t, DoubleSupplier loss) {
        double[] g = new double[t.sizeInt()];
        for (int i = 0; i < g.length; i++) {
            float old = t.getFlat(i);
            float up = (float) (old + STEP), down = (float) (old - STEP);
            t.setFlat(i, up);
            double lp = loss.getAsDouble();
            t.setFlat(i, down);
            double lm = loss.getAsDouble();
            t.setFlat(i, old);
            g[i] = (lp - lm) / ((double) up - down);
        }
        return g;
    }

    /**
     * Largest absolute difference relative to the size of the numerical gradient:
     * {@code max|a - n| / max(max|n|, 1e-6)}. Scale-aware, and a single wrong element counts.
     */
    public static double error(float[] analytic, double[] numeric) {
        if (analytic.length != numeric.length) throw new IllegalArgumentException(analytic.length + " vs " + numeric.length);
        double diff = 0, scale = 0;
        for (int i = 0; i < numeric.length; i++) {
            diff = Math.max(diff, Math.abs(analytic[i] - numeric[i]));
            scale = Math.max(scale, Math.abs(numeric[i]));
        }
        return diff / Math.max(scale, 1e-6);
    }

    public static void assertGrad(String what, float[] analytic, double[] numeric, double tol) {
        double e = error(analytic, numeric);
        if (Boolean.getBoolean("numgrad.verbose")) System.out.println("ERR " + what + " " + e);
        assertTrue(e < tol, what + ": gradient error " + e + " >= " + tol);
    }

    /** max|a - b| / max(max|a|, 1): for native vs Java agreement. */
    public static double diff(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException(a.length + " vs " + b.length);
        double d = 0, scale = 1;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(a[i]));
        }
        return d / scale;
    }

    public static void assertAgree(String what, float[] a, float[] b, double tol) {
        double d = diff(a, b);
        assertTrue(d < tol, what + ": backends differ by " + d + " (relative) >= " + tol);
    }
}
