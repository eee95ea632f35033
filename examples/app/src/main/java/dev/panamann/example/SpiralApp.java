package dev.panamann.example;

import dev.panamann.data.Dataset;
import dev.panamann.data.ToyData;
import dev.panamann.io.ModelIO;
import dev.panamann.models.TwoLayerNet;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.optim.Adam;
import dev.panamann.tensor.Rng;
import dev.panamann.train.Evaluation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Trains the cs231n two-layer net (2 inputs, 100 hidden units, 3 classes) on the spiral toy data
 * with Adam, saves it as safetensors, loads it into a fresh net and predicts every point.
 *
 * <pre>
 * java --enable-native-access=dev.panamann -p target/lib:target/panama-nn-example-app.jar \
 *      -m dev.panamann.example/dev.panamann.example.SpiralApp [model.safetensors]
 * </pre>
 *
 * Exits with status 1 if the loaded model does not predict exactly what the trained one did, or
 * if the training accuracy stays below 90 %.
 */
public final class SpiralApp {
    private SpiralApp() {}

    public static void main(String[] args) throws IOException {
        Path file = Path.of(args.length > 0 ? args[0] : "target/spiral.safetensors");
        if (file.getParent() != null) Files.createDirectories(file.getParent());
        Ops ops = Backends.get();                                    // OpenBLAS + oneDNN, or pure Java
        System.out.println("backend: " + ops.name() + ", module: " + Ops.class.getModule());

        try (Dataset data = ToyData.spiral(100, 3, new Rng(0));      // x (300, 2), y in {0, 1, 2}
             TwoLayerNet net = new TwoLayerNet(ops, 2, 100, 3, 1e-2f, 1e-3f, 42);
             Adam adam = new Adam(1e-2)) {
            for (int step = 1; step <= 500; step++) {
                float loss = net.loss(data.x(), data.y());          // forward + backward: fills the grads
                adam.step(net.params());                            // one Adam update of every parameter
                if (step % 100 == 0) System.out.printf("step %d  loss %.4f%n", step, loss);
            }
            int[] trained = Evaluation.predict(net, data, data.size()); // argmax of each row of scores
            ModelIO.save(net, file);                                 // layers.0.weight, layers.0.bias, ... as safetensors

            try (TwoLayerNet loaded = new TwoLayerNet(ops, 2, 100, 3, 1e-2f, 1e-3f, 7)) {
                ModelIO.load(loaded, file);                          // checks names, dtypes, shapes
                int[] predicted = Evaluation.predict(loaded, data, data.size());
                double accuracy = Evaluation.accuracy(predicted, data.y());
                int same = 0;
                for (int i = 0; i < predicted.length; i++) {
                    if (predicted[i] == trained[i]) same++;
                }
                System.out.printf("saved %s (%d bytes), loaded it: accuracy %.2f %%, %d of %d predictions as before saving%n",
                        file, Files.size(file), 100 * accuracy, same, predicted.length);
                if (same != predicted.length || accuracy < 0.9) {
                    System.err.println("FAILED: the loaded model must predict as the trained one, with >= 90 % accuracy");
                    System.exit(1);
                }
            }
        }
    }
}
