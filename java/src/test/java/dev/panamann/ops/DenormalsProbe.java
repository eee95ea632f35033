package dev.panamann.ops;

import dev.panamann.ops.dnnl.NativeLibraries;
import dev.panamann.ops.dnnl.NativeOps;
import dev.panamann.ops.java.JavaOps;
import dev.panamann.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Computes on subnormal inputs through every path that must flush: the Java backend's gemm on
 * its worker threads, OpenBLAS sgemm and a oneDNN convolution on a fresh OpenMP team, and a
 * plain Java loop, each on a thread started after the backends exist. {@link DenormalsTest} runs
 * it in its own JVM (flushing on) and in a child JVM with {@code -Dpanamann.flushDenormals=false}.
 * Each value is the largest magnitude of the result: 0 when flushed.
 */
public final class DenormalsProbe {
    /** A subnormal float: 2^-128. */
    static final float SUB = Float.MIN_NORMAL / 4;

    public static void main(String[] args) throws Exception {
        for (Map.Entry<String, Float> e : run().entrySet()) System.out.println(e.getKey() + "=" + Float.floatToRawIntBits(e.getValue()));
    }

    static Map<String, Float> run() throws Exception {
        Map<String, Float> out = new LinkedHashMap<>();
        boolean nat = NativeLibraries.available();
        try (JavaOps java = new JavaOps(2); NativeOps nativeOps = nat ? new NativeOps(2) : null) {
            Thread t = new Thread(() -> {
                out.put("javaGemm", gemm(java, 128));
                out.put("javaLoop", javaLoop());
                if (nativeOps != null) {
                    out.put("nativeGemm", gemm(nativeOps, 128));
                    out.put("nativeConv", conv(nativeOps));
                    out.put("javaLoopAfterNative", javaLoop());
                }
            });
            t.start();
            t.join();
        }
        return out;
    }

    /** (m x k) all SUB times (k x m) all 1: every element k * SUB, a normal number; 0 with DAZ. */
    static float gemm(Ops ops, int m) {
        try (Tensor a = Tensor.full(SUB, m, m); Tensor b = Tensor.full(1f, m, m); Tensor c = Tensor.zeros(m, m)) {
            ops.gemm(false, false, m, m, m, 1f, a, b, 0f, c);
            return maxAbs(c.toArray());
        }
    }

    /**
     * A 3x3 convolution over 3 channels of SUB with weights 1, 8 images: the largest output,
     * away from the zero padding, sums all 27 taps: 27 * SUB.
     */
    static float conv(Ops ops) {
        ConvGeometry g = new ConvGeometry(8, 3, 8, 8, 16, 3, 3, 1, 1);
        try (Tensor x = Tensor.full(SUB, 8, 3, 8, 8); Tensor w = Tensor.full(1f, 16, 3, 3, 3);
             Tensor b = Tensor.zeros(16); Tensor y = Tensor.zeros(8, 16, 8, 8); Conv2dOp op = ops.conv2d(g)) {
            op.forward(x, w, b, y);
            return maxAbs(y.toArray());
        }
    }

    /** Java float arithmetic with a subnormal operand, JIT-compiled after the warm-up. */
    static float javaLoop() {
        float[] a = new float[1024];
        java.util.Arrays.fill(a, SUB);
        float r = 0;
        for (int rep = 0; rep < 2000; rep++) r = Math.max(r, sumTimesTwo(a));
        return r;
    }

    private static float sumTimesTwo(float[] a) {
        float s = 0;
        for (float v : a) s += v * 2f;
        return s;
    }

    static float maxAbs(float[] v) {
        float m = 0;
        for (float x : v) m = Math.max(m, Math.abs(x));
        return m;
    }
}
