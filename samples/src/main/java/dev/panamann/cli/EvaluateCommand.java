package dev.panamann.cli;

import com.google.gson.GsonBuilder;
import dev.panamann.data.Dataset;
import dev.panamann.data.Preprocess;
import dev.panamann.ops.Ops;
import dev.panamann.train.Evaluation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code panama-nn evaluate}: test accuracy of a saved model, overall and per class. */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Load a saved model (the --out folder of train or search) and compute its test accuracy and per-class accuracy.")
public final class EvaluateCommand implements Callable<Integer> {
    @Mixin
    BackendOptions backend;

    @Mixin
    SavedModelOptions saved;

    @Mixin
    DataOptions dataOptions;

    @Mixin
    BatchSizeOption batchSizeOption;

    @Mixin
    OutOption outOption;

    @Override
    public Integer call() throws Exception {
        int batchSize = batchSizeOption.orElse(200);
        Path out = outOption.given();
        try (Ops ops = backend.ops("auto");
             SavedRun.Loaded run = saved.load(ops)) {
            SavedRun.Descriptor d = run.descriptor();
            System.out.println("model " + d.model().describe() + " (" + run.weights() + ")");
            try (Dataset test = dataOptions.loadTestSet(d.dataset(), System.out)) {
                if (!Arrays.equals(test.exampleShape(), d.model().inputShape())) {
                    throw new UserError("the test data has examples of shape " + Arrays.toString(test.exampleShape()) + " but the model takes "
                            + Arrays.toString(d.model().inputShape()) + ": pass the model's dataset (" + d.dataset() + ") with --data");
                }
                if (test.numClasses() > d.classNames().size()) {
                    throw new UserError("the test data has labels up to " + (test.numClasses() - 1) + " but the model knows "
                            + d.classNames().size() + " classes");
                }
                if (run.meanImage() != null) Preprocess.subtract(test.x(), run.meanImage());
                long t0 = System.nanoTime();
                int[] pred = Evaluation.predict(run.model(), test, batchSize);
                double seconds = (System.nanoTime() - t0) / 1e9;
                double acc = Evaluation.accuracy(pred, test.y());
                System.out.println();
                Evaluation.PerClass classes = Evaluation.perClass(pred, test.y(), d.classNames().size());
                System.out.print(classes.table(d.classNames()));
                System.out.println();
                System.out.printf(Locale.ROOT, "test accuracy: %.4f (%d images, %.0f images/s on %s)%n", acc, test.size(),
                        test.size() / seconds, ops.name());
                if (out != null) {
                    Files.createDirectories(out);
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("model_dir", saved.modelDir().toString());
                    m.put("weights", run.weights().toString());
                    m.put("test_acc", acc);
                    m.put("num_test", test.size());
                    Map<String, Double> perClass = new LinkedHashMap<>();
                    for (int c = 0; c < classes.numClasses(); c++) {
                        perClass.put(d.classNames().get(c), classes.total()[c] == 0 ? null : classes.accuracy(c));
                    }
                    m.put("per_class_acc", perClass);
                    Path f = out.resolve("evaluation.json");
                    Files.writeString(f, new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(m) + "\n", StandardCharsets.UTF_8);
                    System.out.println("wrote " + f);
                }
            }
        }
        return Cli.EXIT_OK;
    }
}
