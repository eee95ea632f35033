package dev.panamann.bench;

import dev.panamann.data.Dataset;
import dev.panamann.models.Model;
import dev.panamann.models.ThreeLayerConvNet;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.train.Solver;
import java.io.IOException;
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
 * One epoch of the {@link Solver} loop on the CIFAR-10 conv net: 20 iterations of batch 50
 * (draw the minibatch, forward, loss, backward, Adam update, learning-rate decay) plus the
 * epoch's accuracy check (50 training and 50 validation images) and best-parameter copy. Each
 * call trains one more epoch of the same solver, so buffers and optimizer state are reused as
 * in a real run. What {@link TrainStepBench} measures, plus what the training loop adds
 * around it. Reports ms per epoch; images/s = 1000 / (ms / 1000).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 4)
@Measurement(iterations = 3, time = 4)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class SolverEpochBench {
    @Param({"native"})
    public String backend;

    private Ops ops;
    private Model net;
    private Dataset train, val;
    private Solver solver;

    @Setup(Level.Trial)
    public void setup() {
        ops = Backends.create(backend);
        Rng rng = new Rng(1);
        train = images(rng, 1000);
        val = images(rng, 50);
        net = new ThreeLayerConvNet(ops, new int[] {3, 32, 32}, 32, 7, 100, 10, 1e-3f, 1e-3f, 1);
        solver = new Solver(net, train, val).updateRule("adam").optimConfig(Map.of("learning_rate", 1e-4)).lrDecay(0.999)
                .batchSize(50).numTrainSamples(50).numEpochs(1).verbose(false).seed(2);
    }

    private static Dataset images(Rng rng, int n) {
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = rng.nextInt(10);
        return new Dataset(Tensor.randn(rng, 50f, n, 3, 32, 32), y);
    }

    @Benchmark
    public float epoch() throws IOException {
        solver.numEpochs(solver.epoch() + 1);
        solver.train();
        return solver.bestValAcc();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        solver.close();
        net.close();
        train.close();
        val.close();
        ops.close();
    }
}
