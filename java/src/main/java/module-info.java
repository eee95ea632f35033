/**
 * panama-nn: neural networks on the CPU, with off-heap tensors and OpenBLAS / oneDNN reached
 * through the FFM API, and a pure-Java backend.
 *
 * <p>The library calls native code, so an application grants it native access: on the module
 * path {@code java --enable-native-access=dev.panamann ...}, on the class path
 * {@code java --enable-native-access=ALL-UNNAMED ...}. The generated FFM bindings
 * ({@code dev.panamann.bindings.*}) are part of this module and not exported.
 *
 * <p>Packages: {@link dev.panamann.tensor} (tensors, parameters, random numbers),
 * {@link dev.panamann.ops} (the {@code Ops} backend interface, planned ops, shape records,
 * {@code Backends}), {@link dev.panamann.ops.dnnl} (the OpenBLAS / oneDNN backend and its library
 * loading), {@link dev.panamann.ops.java} (the pure-Java backend), {@link dev.panamann.layers},
 * {@link dev.panamann.loss}, {@link dev.panamann.models}, {@link dev.panamann.optim},
 * {@link dev.panamann.train}, {@link dev.panamann.data} and {@link dev.panamann.io}.
 */
@SuppressWarnings("requires-automatic") // org.jfree.jfreechart has no module-info (Automatic-Module-Name only)
module dev.panamann {
    // Plots.gridImage returns a java.awt.image.BufferedImage.
    requires transitive java.desktop;
    requires com.google.gson;
    requires org.apache.commons.compress;
    requires org.jfree.jfreechart;
    // The Vector API gemm kernel (ops.java.VectorGemmKernel): optional, loaded by name only when
    // the JVM runs with --add-modules jdk.incubator.vector.
    requires static jdk.incubator.vector;

    // Every library package is exported, except the generated bindings; ModuleInfoTest checks
    // that a new package is listed here.
    exports dev.panamann.tensor;
    exports dev.panamann.ops;
    exports dev.panamann.ops.dnnl;
    exports dev.panamann.ops.java;
    exports dev.panamann.layers;
    exports dev.panamann.loss;
    exports dev.panamann.models;
    exports dev.panamann.optim;
    exports dev.panamann.train;
    exports dev.panamann.data;
    exports dev.panamann.io;
}
