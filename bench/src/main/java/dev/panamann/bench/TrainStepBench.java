package dev.panamann.bench;

import dev.panamann.models.Model;
import dev.panamann.models.ThreeLayerConvNet;
import dev.panamann.models.TwoLayerNet;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.optim.Optimizer;
import dev.panamann.optim.Optimizers;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One whole training step (forward, loss, backward, optimizer update) of the reference
 * models, native vs pure Java: the CIFAR-10 conv net (batch 50, adam) and TwoLayerNet
 * (3072-300-10, batch 400, sgd). Reports ms per step; images/s = batch / (ms / 1000).
 * {@code -p layout=plain} measures the conv net with oneDNN computing in plain NCHW;
 * {@code -p batch=64,256} and {@code -p optimizer=sgd_momentum,adam} override the model's
 * batch size and update rule (learning rate 1e-3, the rule's other defaults).
 *
 * <p>The input is N(0, 50^2) noise with random labels: its activations and gradients stay
 * normal floats, so the figures do not depend on how the CPU treats subnormals.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class TrainStepBench {
    @Param({"convnet", "twolayer"})
    public String model;

    @Param({"native", "java"})
    public String backend;

    /** oneDNN convolution layouts: {@code any} (oneDNN chooses) or {@code plain} (NCHW everywhere). */
    @Param({"any"})
    public String layout;

    /** Batch size; 0 takes the model's default (conv net 50, TwoLayerNet 400). */
    @Param({"0"})
    public int batch;

    /** Update rule ({@code sgd}, {@code sgd_momentum}, {@code adam}, ...); {@code default} takes the model's. */
    @Param({"default"})
    public String optimizer;

    private Ops ops;
    private Model net;
    private Optimizer opt;
    private List<dev.panamann.tensor.Param> params;
    private Tensor x;
    private int[] y;

    @Setup(Level.Trial)
    public void setup() {
        System.setProperty("panamann.dnnl.convLayout", layout);
        ops = Backends.create(backend);
        Rng rng = new Rng(1);
        int batch;
        String rule;
        if (model.equals("convnet")) {
            batch = 50;
            rule = "adam";
            net = new ThreeLayerConvNet(ops, new int[] {3, 32, 32}, 32, 7, 100, 10, 1e-3f, 1e-3f, 1);
        } else {
            batch = 400;
            rule = "sgd";
            net = new TwoLayerNet(ops, 3 * 32 * 32, 300, 10, 1e-4f, 1e-2f, 1);
        }
        if (this.batch > 0) batch = this.batch;
        if (!optimizer.equals("default")) rule = optimizer;
        opt = Optimizers.create(rule, Map.of("learning_rate", 1e-3));
        x = Tensor.randn(rng, 50f, batch, 3, 32, 32);
        y = new int[batch];
        for (int i = 0; i < batch; i++) y[i] = rng.nextInt(10);
        params = net.params();
        opt.prepare(params);
    }

    @Benchmark
    public float step() {
        float loss = net.loss(x, y);
        opt.step(params);
        return loss;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        opt.close();
        net.close();
        x.close();
        ops.close();
    }
}
