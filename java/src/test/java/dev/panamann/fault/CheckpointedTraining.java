package dev.panamann.fault;

import dev.panamann.data.Dataset;
import dev.panamann.models.TwoLayerNet;
import dev.panamann.ops.java.JavaOps;
import dev.panamann.tensor.Rng;
import dev.panamann.train.Solver;
import dev.panamann.testutil.TinyNet;
import java.nio.file.Path;
import java.util.Map;

/**
 * Child-JVM program of the fault suite: trains a two-layer net with a checkpoint at every
 * check (about 30 MB each, so that a write takes a while) into {@code dir/run_epoch_<e>}.
 * Arguments: dir, epochs, and optionally a checkpoint to resume from. Prints the final
 * iteration and a checksum of the parameters.
 */
public final class CheckpointedTraining {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int epochs = Integer.parseInt(args[1]);
        Rng rng = new Rng(11);
        try (JavaOps ops = new JavaOps(1);
             Dataset train = TinyNet.blobs(rng, 120, 3072, 10, 1f);
             Dataset val = TinyNet.blobs(rng, 40, 3072, 10, 1f);
             TwoLayerNet net = new TwoLayerNet(ops, 3072, 600, 10, 1e-3f, 0f, 3);
             Solver s = new Solver(net, train, val).verbose(false).updateRule("adam")
                     .optimConfig(Map.of("learning_rate", 1e-3)).batchSize(40).numEpochs(epochs).seed(5)
                     .checkpointName(dir.resolve("run").toString())) {
            if (args.length > 2) s.resume(Path.of(args[2]));
            s.train();
            double sum = 0;
            for (var p : net.params()) for (float v : p.value().toArray()) sum += v;
            System.out.println("done iteration=" + s.iteration() + " checksum=" + sum);
        }
    }

    private CheckpointedTraining() {}
}
