package dev.panamann.spark;

import dev.panamann.models.Model;
import dev.panamann.optim.Optimizers;
import dev.panamann.tensor.Tensor;
import java.io.PrintStream;
import java.io.Serializable;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;

/**
 * Synchronous data-parallel training on Apache Spark (4.1 or newer), the way Horovod on Spark
 * and PyTorch's TorchDistributor do it: the whole training runs as ONE barrier stage of
 * {@code workers} tasks. Each task builds a full replica of the model ({@link ModelFactory}),
 * copies its partition of the training data once into an off-heap dataset and runs the
 * ordinary {@link dev.panamann.train.Solver} loop on it with a minibatch of
 * {@code batchSize / workers} examples. After every backward pass the gradients (one contiguous
 * buffer, {@link Model#gradients()}) are averaged across the tasks by an in-place all-reduce
 * over TCP ({@link dev.panamann.dist.TcpCollective}), so every replica takes the same optimizer
 * step: the result is that of one process training with minibatches of {@code batchSize}
 * (the union of the workers' minibatches). The only Spark collective call is one
 * {@code allGather} of each task's host:port (and its preparation status) at the start.
 *
 * <pre>{@code
 * SparkTrainer.Result r = new SparkTrainer(ops -> new ThreeLayerConvNet(ops, 42), 3, 32, 32)
 *         .workers(2).batchSize(64).numEpochs(15)
 *         .updateRule("adam").optimConfig(Map.of("learning_rate", 1e-3))
 *         .checkpointDir("/shared/run1")
 *         .fit(trainRdd, valExamples);
 * try (Model m = new ThreeLayerConvNet(Backends.get(), 42)) {
 *     r.loadInto(m);          // the best validation parameters of the run
 * }
 * }</pre>
 *
 * <p>Data: the training RDD needs at least {@code workers} partitions (more are repartitioned to
 * {@code workers} by one shuffle); every partition must hold examples, and partitions of
 * unequal size are cut to the smallest, so that every worker runs the same number of steps.
 * Each worker draws its minibatches from its own shard with its own seeded generator
 * ({@link #rankSeed}). The validation examples go to every worker (a Spark broadcast); rank 0's
 * accuracy is the one reported and the one that picks the best parameters.
 *
 * <p>Batch norm uses each worker's own batch statistics in training (as PyTorch's DDP does by
 * default); the running statistics are averaged across the workers before every accuracy
 * check, so checkpoints and the final model hold the average. Dropout masks differ per worker
 * (each replica's generators are re-seeded by rank).
 *
 * <p>Faults: with {@link #checkpointDir} set, every worker writes the Solver's atomic
 * checkpoint at each check ({@code rank-<r>/checkpoint_epoch_<e>.safetensors}: parameters,
 * optimizer state and its own generator states). The directory must be one every executor
 * sees (a shared file system on a cluster). When a task dies, Spark aborts the barrier stage;
 * the driver then starts the stage again, up to {@link #maxRestarts} times, and every worker
 * resumes from the newest epoch all ranks have a checkpoint of: the run ends where an
 * uninterrupted run ends. Errors in the input (too few partitions, empty partitions, labels
 * out of range, wrong example sizes, a model that cannot be built on an executor) are found
 * before training starts and thrown on the driver as {@link IllegalArgumentException} naming
 * the partition, without restarts and without a hang.
 */
public final class SparkTrainer {
    private final ModelFactory factory;
    private final int[] exampleShape;
    private int workers = 2;
    private int batchSize = 64;
    private int numEpochs = 10;
    private String updateRule = "sgd";
    private Map<String, Double> optimConfig = new LinkedHashMap<>();
    private double lrDecay = 1.0;
    private long seed;
    private String backend = "auto";
    private int threads;
    private String checkpointDir;
    private int maxRestarts = 2;
    private Duration timeout = Duration.ofSeconds(120);
    private int numTrainSamples = 1000;
    private int numValSamples;
    private boolean verbose = true;
    private int printEvery = 100;
    private boolean collectReplicas;
    private int failRank = -1, failIteration = -1;
    private PrintStream out = System.out;

    /**
     * @param factory      builds the model on each executor
     * @param exampleShape the shape of one example, e.g. 3, 32, 32 for CIFAR-10 images
     */
    public SparkTrainer(ModelFactory factory, int... exampleShape) {
        if (factory == null) throw new IllegalArgumentException("model factory is null");
        if (exampleShape == null || exampleShape.length == 0) throw new IllegalArgumentException("example shape is missing");
        long n = 1;
        for (int d : exampleShape) {
            if (d < 1) throw new IllegalArgumentException("example shape " + Arrays.toString(exampleShape) + " has a dimension < 1");
            n *= d;
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("example shape " + Arrays.toString(exampleShape) + " is too large");
        }
        this.factory = factory;
        this.exampleShape = exampleShape.clone();
    }

    // ------------------------------------------------------------------ options

    /** Number of workers (barrier tasks, each one replica); default 2. */
    public SparkTrainer workers(int w) {
        if (w < 1) throw new IllegalArgumentException("workers must be >= 1, got " + w);
        this.workers = w;
        return this;
    }

    /** The global minibatch (all workers together), a multiple of {@link #workers}; default 64. */
    public SparkTrainer batchSize(int b) {
        if (b < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + b);
        this.batchSize = b;
        return this;
    }

    /** Epochs over the training data; default 10. */
    public SparkTrainer numEpochs(int e) {
        if (e < 1) throw new IllegalArgumentException("numEpochs must be >= 1, got " + e);
        this.numEpochs = e;
        return this;
    }

    /** The Solver's update rule ("sgd", "sgd_momentum", "nesterov", "rmsprop", "adam"); default sgd. */
    public SparkTrainer updateRule(String rule) {
        if (rule == null || !Optimizers.RULES.contains(rule.trim().toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("unknown update rule '" + rule + "': use one of " + Optimizers.RULES);
        }
        this.updateRule = rule.trim().toLowerCase(Locale.ROOT);
        return this;
    }

    /** The rule's hyperparameters by their cs231n names (learning_rate, beta1, ...). */
    public SparkTrainer optimConfig(Map<String, ? extends Number> config) {
        Map<String, Double> c = new LinkedHashMap<>();
        if (config != null) {
            for (var e : config.entrySet()) {
                if (e.getValue() == null) throw new IllegalArgumentException("optim config '" + e.getKey() + "' is null");
                c.put(e.getKey(), e.getValue().doubleValue());
            }
        }
        Optimizers.create(updateRule, c).close(); // validates names and values now, on the driver
        this.optimConfig = c;
        return this;
    }

    /** Learning-rate factor after every epoch; default 1. */
    public SparkTrainer lrDecay(double d) {
        if (!(d > 0) || !Double.isFinite(d)) throw new IllegalArgumentException("lrDecay must be a finite number > 0, got " + d);
        this.lrDecay = d;
        return this;
    }

    /** Seed of the minibatch draws (each rank uses {@link #rankSeed}); default 0. */
    public SparkTrainer seed(long s) {
        this.seed = s;
        return this;
    }

    /** Backend on the executors: "native", "java" or "auto" (default). */
    public SparkTrainer backend(String b) {
        if (b == null || !List.of("native", "java", "auto").contains(b.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("unknown backend '" + b + "': use native, java or auto");
        }
        this.backend = b.toLowerCase(Locale.ROOT);
        return this;
    }

    /** Threads per worker; 0 (the default) takes the task's {@code spark.task.cpus}. */
    public SparkTrainer threads(int t) {
        if (t < 0) throw new IllegalArgumentException("threads must be >= 0, got " + t);
        this.threads = t;
        return this;
    }

    /**
     * Directory for the workers' checkpoints (one every executor and the driver see); null
     * (the default) for none: a restart then starts from the beginning.
     */
    public SparkTrainer checkpointDir(String dir) {
        if (dir != null && dir.isBlank()) throw new IllegalArgumentException("checkpoint directory is blank");
        this.checkpointDir = dir;
        return this;
    }

    /** How often the driver starts the stage again after a task failure; default 2. */
    public SparkTrainer maxRestarts(int n) {
        if (n < 0) throw new IllegalArgumentException("maxRestarts must be >= 0, got " + n);
        this.maxRestarts = n;
        return this;
    }

    /** How long a worker waits for a peer without progress before failing; default 120 s. */
    public SparkTrainer timeout(Duration t) {
        if (t == null || t.isNegative() || t.isZero()) throw new IllegalArgumentException("timeout must be > 0, got " + t);
        this.timeout = t;
        return this;
    }

    /** Training examples (of rank 0's shard) per train-accuracy check; 0 for all; default 1000. */
    public SparkTrainer numTrainSamples(int n) {
        if (n < 0) throw new IllegalArgumentException("numTrainSamples must be >= 0, got " + n);
        this.numTrainSamples = n;
        return this;
    }

    /** Validation examples per check; 0 (the default) for all. */
    public SparkTrainer numValSamples(int n) {
        if (n < 0) throw new IllegalArgumentException("numValSamples must be >= 0, got " + n);
        this.numValSamples = n;
        return this;
    }

    /** Rank 0 prints the Solver's progress lines (to the executor's stdout); default true. */
    public SparkTrainer verbose(boolean v) {
        this.verbose = v;
        return this;
    }

    /** Progress line every this many iterations; default 100. */
    public SparkTrainer printEvery(int n) {
        if (n < 1) throw new IllegalArgumentException("printEvery must be >= 1, got " + n);
        this.printEvery = n;
        return this;
    }

    /** Return every replica's final parameters too (to check that they agree); default false. */
    public SparkTrainer collectReplicas(boolean on) {
        this.collectReplicas = on;
        return this;
    }

    /** Where the driver reports restarts; default System.out. */
    public SparkTrainer out(PrintStream s) {
        if (s == null) throw new IllegalArgumentException("output stream is null");
        this.out = s;
        return this;
    }

    /**
     * Fault injection for testing the restart path: in the first attempt only, the worker of
     * {@code rank} throws after the backward pass of iteration {@code iteration} (0-based),
     * which fails its task; -1 for none (the default).
     */
    public SparkTrainer injectFailure(int rank, int iteration) {
        this.failRank = rank;
        this.failIteration = iteration;
        return this;
    }

    /**
     * The seed of rank {@code rank}'s minibatch generator for a run seeded with {@code seed}:
     * {@code seed} itself for rank 0 (one worker draws what a single process draws), a hash of
     * both for the others (not {@code seed + k * rank}: {@link dev.panamann.tensor.Rng} is
     * SplitMix64, whose streams for seeds one increment apart are the same stream shifted).
     */
    public static long rankSeed(long seed, int rank) {
        if (rank == 0) return seed;
        return new dev.panamann.tensor.Rng(new dev.panamann.tensor.Rng(seed).nextLong() ^ (0xD1B54A32D192ED03L * rank)).nextLong();
    }

    /** The checkpoint file of a rank and epoch under a checkpoint directory. */
    public static Path checkpointFile(String dir, int rank, int epoch) {
        return Path.of(dir, "rank-" + rank, "checkpoint_epoch_" + epoch + ".safetensors");
    }

    // ------------------------------------------------------------------ training

    /**
     * Trains on the cluster of the RDD's Spark context and returns the result to the driver.
     *
     * @param train training examples, at least {@code workers} partitions, none empty
     * @param val   validation examples (sent to every worker)
     * @throws IllegalArgumentException for bad input, naming what was wrong
     * @throws SparkTrainingException   when the run failed more than {@code maxRestarts} times
     */
    public Result fit(JavaRDD<Example> train, List<Example> val) {
        if (train == null) throw new IllegalArgumentException("training RDD is null");
        if (val == null || val.isEmpty()) throw new IllegalArgumentException("validation set is empty: every check needs it");
        if (batchSize % workers != 0) {
            throw new IllegalArgumentException("batch size " + batchSize + " is not a multiple of the " + workers
                    + " workers: each worker takes batchSize / workers examples per step");
        }
        int parts = train.getNumPartitions();
        if (parts < workers) {
            throw new IllegalArgumentException("the training RDD has " + parts + " partition(s) but the run has " + workers
                    + " workers (one partition each): repartition it, e.g. rdd.repartition(" + workers + ")");
        }
        // more partitions: one shuffle to exactly W (a barrier stage does not take coalesce's narrow merge)
        JavaRDD<Example> shards = parts > workers ? train.repartition(workers) : train;
        int d = Worker.count(exampleShape);
        float[] vx = new float[Math.multiplyExact(val.size(), d)];
        int[] vy = new int[val.size()];
        for (int i = 0; i < val.size(); i++) {
            Example e = val.get(i);
            if (e.x().length != d) {
                throw new IllegalArgumentException("validation example " + i + " has " + e.x().length + " values but the example shape "
                        + Arrays.toString(exampleShape) + " needs " + d);
            }
            System.arraycopy(e.x(), 0, vx, i * d, d);
            vy[i] = e.label();
        }
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(train.context());
        Broadcast<Worker.ValData> valData = sc.broadcast(new Worker.ValData(vx, vy));
        long start = System.nanoTime();
        try {
            for (int attempt = 0; ; attempt++) {
                Config c = config(attempt);
                List<WorkerResult> results;
                try {
                    RDD<WorkerResult> r = shards.rdd().barrier().mapPartitions(new Worker(c, factory, valData), false,
                            scala.reflect.ClassTag$.MODULE$.apply(WorkerResult.class));
                    results = new ArrayList<>(r.toJavaRDD().collect());
                } catch (Exception e) { // SparkException is checked, and Scala throws it undeclared
                    if (attempt >= maxRestarts) {
                        throw new SparkTrainingException("training failed " + (attempt + 1) + " time(s), the last time with: "
                                + firstLine(e), e);
                    }
                    out.println("SparkTrainer: the training stage failed (" + firstLine(e) + "); restart " + (attempt + 1)
                            + " of " + maxRestarts + (checkpointDir != null ? ", from the newest checkpoint" : ", from the start"));
                    continue;
                }
                results.sort((a, b) -> Integer.compare(a.rank(), b.rank()));
                List<String> errors = new ArrayList<>();
                for (WorkerResult w : results) if (w.error() != null && !w.error().isEmpty()) errors.add(w.error());
                if (!errors.isEmpty()) throw new IllegalArgumentException(String.join("; ", errors));
                return new Result(results, attempt, (System.nanoTime() - start) / 1e9);
            }
        } finally {
            valData.destroy();
        }
    }

    private Config config(int attempt) {
        return new Config(exampleShape.clone(), workers, batchSize, numEpochs, updateRule, new LinkedHashMap<>(optimConfig), lrDecay,
                seed, backend, threads, checkpointDir, timeout.toMillis(), numTrainSamples, numValSamples, verbose, printEvery,
                collectReplicas, new SecureRandom().nextLong(), attempt == 0 ? failRank : -1, failIteration);
    }

    /** The first line of the message and the first line after it that names an exception (a task's cause). */
    private static String firstLine(Throwable e) {
        String[] lines = String.valueOf(e.getMessage()).split("\n");
        String first = lines[0].trim();
        for (int i = 1; i < lines.length; i++) {
            String l = lines[i].trim();
            if (l.matches("^[\\w.$]+(Exception|Error)(: .*)?$")) return first + " " + l;
        }
        return first;
    }

    /** Everything a worker needs, sent with the stage. */
    record Config(int[] exampleShape, int workers, int batchSize, int numEpochs, String updateRule,
                  LinkedHashMap<String, Double> optimConfig, double lrDecay, long seed, String backend, int threads,
                  String checkpointDir, long timeoutMs, int numTrainSamples, int numValSamples, boolean verbose, int printEvery,
                  boolean collectReplicas, long token, int failRank, int failIteration) implements Serializable {}

    /** What one worker sends back. */
    record WorkerResult(int rank, String error, LinkedHashMap<String, float[]> best, LinkedHashMap<String, float[]> last,
                        float[] loss, float[] trainAcc, float[] valAcc, float bestValAcc, int shardSize, int resumedEpoch,
                        double seconds) implements Serializable {
        static WorkerResult failed(int rank, String error) {
            return new WorkerResult(rank, error, null, null, null, null, null, Float.NaN, 0, -1, 0);
        }
    }

    /** The training stage failed more often than {@link #maxRestarts} allows. */
    public static final class SparkTrainingException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        SparkTrainingException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The outcome of {@link #fit}: rank 0's best and final parameters (and model buffers, by
     * {@link Model#stateDict()} name), its histories, and when asked every replica's final values.
     */
    public static final class Result {
        private final List<WorkerResult> workers;
        private final int restarts;
        private final double seconds;

        Result(List<WorkerResult> workers, int restarts, double seconds) {
            this.workers = workers;
            this.restarts = restarts;
            this.seconds = seconds;
        }

        /** The parameters and buffers with the best validation accuracy (what the Solver keeps). */
        public Map<String, float[]> bestState() { return Collections.unmodifiableMap(workers.get(0).best()); }

        /** The parameters and buffers after the last step. */
        public Map<String, float[]> lastState() { return Collections.unmodifiableMap(workers.get(0).last()); }

        /** Each rank's values after the last step, by rank (only with {@link #collectReplicas}). */
        public List<Map<String, float[]>> replicaStates() {
            List<Map<String, float[]>> l = new ArrayList<>();
            for (WorkerResult w : workers) if (w.last() != null) l.add(Collections.unmodifiableMap(w.last()));
            return l;
        }

        /** Rank 0's minibatch losses (its share of each global minibatch), one per iteration. */
        public float[] lossHistory() { return workers.get(0).loss().clone(); }

        /** Train accuracy (on rank 0's shard) at every check. */
        public float[] trainAccHistory() { return workers.get(0).trainAcc().clone(); }

        /** Validation accuracy at every check. */
        public float[] valAccHistory() { return workers.get(0).valAcc().clone(); }

        /** The best validation accuracy. */
        public float bestValAcc() { return workers.get(0).bestValAcc(); }

        /** Examples each worker trained on (the shards cut to the smallest). */
        public int shardSize() { return workers.get(0).shardSize(); }

        /** The epoch the last attempt resumed from, or -1 when it started from the beginning. */
        public int resumedEpoch() { return workers.get(0).resumedEpoch(); }

        /** How often the stage was started again after a failure. */
        public int restarts() { return restarts; }

        /** Wall time of {@link #fit}, in seconds. */
        public double seconds() { return seconds; }

        /** Rank 0's training time (data copy to the end of training), in seconds. */
        public double workerSeconds() { return workers.get(0).seconds(); }

        /**
         * Copies {@link #bestState()} into a model of the same architecture.
         *
         * @throws IllegalArgumentException naming the first tensor whose name or size differs
         */
        public void loadInto(Model model) {
            load(bestState(), model);
        }

        /** Copies the given state (e.g. {@link #lastState()}) into a model of the same architecture. */
        public static void load(Map<String, float[]> state, Model model) {
            Map<String, Tensor> dst = model.stateDict();
            if (!dst.keySet().equals(state.keySet())) {
                throw new IllegalArgumentException("the model has tensors " + dst.keySet() + " but the result holds " + state.keySet());
            }
            for (var e : dst.entrySet()) {
                float[] v = state.get(e.getKey());
                if (v.length != e.getValue().size()) {
                    throw new IllegalArgumentException(e.getKey() + ": the model has " + e.getValue().size() + " values, the result "
                            + v.length);
                }
            }
            for (var e : dst.entrySet()) {
                float[] v = state.get(e.getKey());
                MemorySegment.copy(v, 0, e.getValue().segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
            }
        }
    }
}
