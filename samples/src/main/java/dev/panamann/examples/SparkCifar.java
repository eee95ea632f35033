package dev.panamann.examples;

import dev.panamann.cli.CifarDataOptions;
import dev.panamann.cli.Cli;
import dev.panamann.cli.Inputs;
import dev.panamann.data.PreparedData;
import dev.panamann.io.ModelIO;
import dev.panamann.models.Model;
import dev.panamann.models.ThreeLayerConvNet;
import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import dev.panamann.spark.Example;
import dev.panamann.spark.ModelFactory;
import dev.panamann.spark.SparkSettings;
import dev.panamann.spark.SparkTrainer;
import dev.panamann.train.Evaluation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The main job in its cs231n settings (the CIFAR-10 conv net as {@code panama-nn train --hidden 100
 * --no-flip}: Adam 1e-3, decay 0.9 per epoch, global batch 64, 15 epochs) trained data-parallel through Apache Spark:
 * one barrier stage of {@code --workers} tasks, gradients all-reduced after every step. Needs
 * Spark 4.1+ on the class path ({@code samples/train-cifar10-spark.sh} sets it up).
 *
 * <pre>
 *   bash samples/train-cifar10-spark.sh [--master local[2]] [--workers 2] [--epochs 15] [--data PATH] [--out DIR]
 * </pre>
 */
@Command(name = "SparkCifar", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train the CIFAR-10 conv net data-parallel on Apache Spark; print validation and test accuracy.")
public final class SparkCifar implements Callable<Integer> {
    @Option(names = "--master", paramLabel = "URL", defaultValue = "local[2]",
            description = "Spark master (default: ${DEFAULT-VALUE}); with spark-submit, the submitted one is used.")
    String master;

    @Option(names = "--workers", paramLabel = "W", defaultValue = "2", description = "Workers (barrier tasks) (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "0",
            description = "Threads per worker; 0 takes spark.task.cpus (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "15", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "64",
            description = "Global minibatch, split evenly over the workers (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR",
            description = "Checkpoints of every worker, for restarts after a failure (a directory every executor sees).")
    Path checkpointDir;

    @Mixin
    CifarDataOptions cifar;

    @Option(names = "--out", paramLabel = "DIR", description = "Where to save the model (default: runs/SparkCifar-<timestamp>).")
    Path out;

    public static void main(String[] args) {
        System.exit(Cli.runSample(new SparkCifar(), args));
    }

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        // checked before the data is read: a bad setting (e.g. a batch not divisible by the workers) fails at once
        SparkSettings settings = SparkSettings.builder(3, 32, 32).workers(workers).threads(threads)
                .batchSize(batchSize).numEpochs(epochs).updateRule("adam").learningRate(1e-3)
                .lrDecay(0.9).seed(seed).printEvery(100)
                .checkpointDir(checkpointDir == null ? null : checkpointDir.toAbsolutePath().toString()).build();
        Steps.section(System.out, "1. Data: CIFAR-10, cs231n split (train / 1000 val / 10000 test), mean image subtracted");
        try (PreparedData d = Inputs.loadCifar(cifar.data, cifar.numTrain, 1000, null, System.out)) {
            List<Example> train = Example.of(d.train()), val = Example.of(d.val());
            SparkConf conf = new SparkConf().setAppName("panama-nn SparkCifar").setIfMissing("spark.master", master)
                    .setIfMissing("spark.ui.enabled", "false");
            try (JavaSparkContext sc = new JavaSparkContext(conf)) {
                sc.setLogLevel("WARN");
                Steps.section(System.out, "2. Train on Spark " + sc.master() + ": " + workers + " workers, global batch "
                        + batchSize + " (" + batchSize / Math.max(1, workers) + " per worker), Adam 1e-3, decay 0.9, " + epochs + " epochs");
                long s = seed;
                ModelFactory factory = ops -> new ThreeLayerConvNet(ops, new int[] {3, 32, 32}, 32, 7, 100, 10, 1e-3f, 1e-3f, s);
                SparkTrainer.Result r = new SparkTrainer(factory, settings).fit(sc.parallelize(train, workers), val);
                train = null;

                Steps.section(System.out, "3. Accuracy of the best validation parameters (evaluated on the driver)");
                Ops ops = Backends.get();
                try (Model net = factory.create(ops)) {
                    r.loadInto(net);
                    float valAcc = (float) Evaluation.accuracy(net, d.val(), 500), testAcc = (float) Evaluation.accuracy(net, d.test(), 500);
                    System.out.printf(Locale.ROOT, "best val acc %.4f (rank 0 during training: %.4f); test acc %.4f%n", valAcc,
                            r.bestValAcc(), testAcc);
                    System.out.printf(Locale.ROOT, "training %.1f s on the workers (%.0f images/s), fit %.1f s, whole program %.1f s;"
                                    + " restarts %d%n", r.workerSeconds(), (double) r.lossHistory().length * batchSize / r.workerSeconds(),
                            r.seconds(), (System.nanoTime() - t0) / 1e9, r.restarts());
                    Path dir = out != null ? out : Path.of("runs", "SparkCifar-" + System.currentTimeMillis());
                    Files.createDirectories(dir);
                    ModelIO.save(net, dir.resolve("model.safetensors"));
                    System.out.println("model saved to " + dir.resolve("model.safetensors"));
                }
            }
        }
        return Cli.EXIT_OK;
    }
}
