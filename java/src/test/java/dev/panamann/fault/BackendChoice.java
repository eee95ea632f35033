package dev.panamann.fault;

import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;

/** Child-JVM program of the fault suite: prints the name of the default backend and one gemm result. */
public final class BackendChoice {
    public static void main(String[] args) {
        Ops ops = Backends.get();
        float[] c = new float[1];
        try (var a = dev.panamann.tensor.Tensor.of(new float[] {2}, 1, 1);
             var b = dev.panamann.tensor.Tensor.of(new float[] {3}, 1, 1);
             var t = dev.panamann.tensor.Tensor.zeros(1, 1)) {
            ops.gemm(false, false, 1, 1, 1, 1f, a, b, 0f, t);
            c[0] = t.getFlat(0);
        }
        System.out.println("backend=" + ops.name() + " gemm=" + c[0]);
    }

    private BackendChoice() {}
}
