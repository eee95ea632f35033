package dev.panamann.examples;

import dev.panamann.cli.Cli;
import dev.panamann.cli.CommonOptions;
import dev.panamann.cli.Inputs;
import dev.panamann.cli.ModelRegistry;
import dev.panamann.cli.ModelSpec;
import dev.panamann.cli.TrainRun;
import dev.panamann.cli.UserError;
import dev.panamann.data.Datasets;
import dev.panamann.data.PreparedData;
import dev.panamann.io.Formats;
import dev.panamann.models.Model;
import dev.panamann.models.PReluNet;
import dev.panamann.models.SigmoidNet;
import dev.panamann.ops.Ops;
import dev.panamann.train.TrainResult;
import dev.panamann.train.TrainSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Three classic MNIST nets, from the textbook one to a conv net:
 * <ol>
 *   <li>sigmoid: 784 - 50 sigmoid - 10 ({@link SigmoidNet}), SGD, learning rate 0.1, batch 100</li>
 *   <li>prelu: 784 - 256 PReLU - 10 ({@link PReluNet}), Adam 1e-3</li>
 *   <li>cnn: conv5x5x32 - pool - conv5x5x64 - pool - fc1024 - dropout - fc10
 *       ({@link dev.panamann.models.MnistCnn}), Adam 1e-4, batch 50</li>
 * </ol>
 * Each is saved in its own folder under --out, ready for {@code panama-nn evaluate} and
 * {@code panama-nn predict}.
 *
 * <pre>
 *   java --enable-native-access=ALL-UNNAMED -cp samples/target/panama-nn-samples.jar \
 *       dev.panamann.examples.MnistNets [--which sigmoid|prelu|cnn|all] [--epochs N] [--num-train N] [--data DIR]
 * </pre>
 */
@Command(name = "MnistNets", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train a sigmoid MLP, a PReLU MLP and a conv net on MNIST; test accuracy of each.")
public final class MnistNets implements Callable<Integer> {
    /** The nets by --which name, with the model type each trains. */
    static final Map<String, String> NETS = new LinkedHashMap<>();

    static {
        NETS.put("sigmoid", "sigmoid-mlp");
        NETS.put("prelu", "prelu-mlp");
        NETS.put("cnn", "mnist-cnn");
    }

    @Mixin
    CommonOptions common;

    @Option(names = "--which", paramLabel = "NET", defaultValue = "all", description = "sigmoid, prelu, cnn or all (default: ${DEFAULT-VALUE}).")
    String which;

    @Option(names = "--epochs", paramLabel = "N",
            description = "Epochs of each net (default: sigmoid 30, prelu 10, cnn 15; the `panama-nn train` defaults).")
    Integer epochs;

    @Option(names = "--num-train", paramLabel = "N", description = "Training digits (default: 55000); lower it for a quick look.")
    Integer numTrain;

    @Option(names = "--data", paramLabel = "DIR", defaultValue = "../shared/data/mnist",
            description = "Folder of the four MNIST idx files (default: ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder, one sub-folder per net (default: runs/MnistNets-<timestamp>).")
    Path out;

    public static void main(String[] args) {
        System.exit(Cli.runSample(new MnistNets(), args));
    }

    @Override
    public Integer call() throws Exception {
        String w = which.toLowerCase(Locale.ROOT);
        if (!w.equals("all") && !NETS.containsKey(w)) throw new UserError("--which takes sigmoid, prelu, cnn or all, got '" + which + "'");
        List<String> nets = w.equals("all") ? List.copyOf(NETS.keySet()) : List.of(w);

        Steps.section(System.out, "Data: MNIST, first 55000 train / next 5000 val / 10000 test, pixels scaled to [0, 1]");
        List<String> summary = new ArrayList<>();
        try (Ops ops = common.ops("native");
             PreparedData d = Inputs.loadMnist(data, numTrain, Datasets.defaultNumVal("mnist"), null, System.out)) {
            Path dir = Inputs.outDir(out, "MnistNets");
            int step = 1;
            for (String name : nets) {
                String type = NETS.get(name);
                ModelSpec spec = ModelSpec.defaults(type, d.exampleShape(), d.numClasses(), common.seed);
                TrainSettings settings = ModelRegistry.get(type).training();
                if (epochs != null) settings = settings.withEpochs(epochs);
                Steps.section(System.out, step++ + ". " + name + ": " + spec.describe());
                TrainRun run = new TrainRun(Inputs.outDir(dir.resolve(name), name), ops, d, spec, settings, common.seed, data);
                run.describe();
                try (Model net = spec.build(ops)) {
                    System.out.println(net);
                    TrainResult r = run.train(net, 100, false, null);
                    TrainRun.Summary s = run.finish(net, r, true);
                    summary.add(String.format(Locale.ROOT, "%-8s test %s  (%s, %.0f images/s)", name, Formats.percent(s.testAcc()),
                            Formats.duration(r.seconds()), r.imagesPerSecond()));
                }
            }
        }
        Steps.section(System.out, "Summary");
        summary.forEach(System.out::println);
        return Cli.EXIT_OK;
    }
}
