package dev.panamann.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.data.Cifar10;
import dev.panamann.data.DataFileException;
import dev.panamann.data.Mnist;
import dev.panamann.io.SafeTensors;
import dev.panamann.ops.dnnl.NativeLibraries;
import dev.panamann.testutil.ChildJvm;
import dev.panamann.testutil.SharedData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fault suite: cases whose failure would kill the process run in child JVMs, and the
 * test checks how the child ended. See docs/reliability.md for the catalogue.
 */
@Tag("fault")
class FaultSuiteTest {

    static void requireNative() {
        if (!NativeLibraries.available() && !Boolean.getBoolean("panamann.requireNative")) {
            Assumptions.abort("native libraries not installed");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"model", "backend", "plan"})
    void closingWhileAnotherThreadRunsOneDnnNeverCrashes(String mode) throws Exception {
        requireNative();
        ChildJvm.Result r = ChildJvm.run(List.of("-Xmx512m"), 120, CloseWhileRunning.class.getName(), mode, "12");
        assertFalse(r.crashed(), "the JVM crashed:\n" + r.output());
        assertEquals(0, r.exit(), r.output());
    }

    @Test
    void autoFallsBackToJavaForAWrongLibraryFile() throws Exception {
        requireNative();
        // a real shared library that is not oneDNN: it loads, but its symbols are missing
        String wrong = NativeLibraries.locate(NativeLibraries.Lib.GOMP).toString();
        ChildJvm.Result auto = ChildJvm.run(List.of("-Dpanamann.dnnl=" + wrong, "-Dpanamann.backend=auto"), 60,
                BackendChoice.class.getName());
        assertEquals(0, auto.exit(), auto.output());
        assertTrue(auto.output().contains("backend=java gemm=6.0"), auto.output());
        assertTrue(auto.output().contains("WARNING: native backend unavailable"), auto.output());
        ChildJvm.Result nat = ChildJvm.run(List.of("-Dpanamann.dnnl=" + wrong, "-Dpanamann.backend=native"), 60,
                BackendChoice.class.getName());
        assertNotEquals(0, nat.exit(), nat.output());
        assertFalse(nat.crashed(), nat.output());
    }

    static Path workDir(String name) throws IOException {
        Path d = Path.of(System.getProperty("panamann.workDir", "target/test-work"), "fault", name).toAbsolutePath();
        if (Files.exists(d)) {
            try (var walk = Files.walk(d)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
        return Files.createDirectories(d);
    }

    static byte[] idxHeader(int magic, int... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length);
        b.putInt(magic);
        for (int d : dims) b.putInt(d);
        return b.array();
    }

    static Path gzip(Path plain) throws IOException {
        Path gz = plain.resolveSibling(plain.getFileName() + ".gz");
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(gz))) {
            Files.copy(plain, o);
        }
        return gz;
    }

    /** A tar.gz whose CIFAR-10 batch entry claims 690,000 records while holding 2. */
    static Path hostileCifar(Path dir) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        byte[] data = new byte[2 * Cifar10.RECORD_BYTES];
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bo)) {
            TarArchiveEntry e = new TarArchiveEntry(Cifar10.FOLDER_NAME + "/" + Cifar10.TRAIN_FILES.get(0));
            e.setSize(data.length);
            tar.putArchiveEntry(e);
            tar.write(data);
            tar.closeArchiveEntry();
        }
        byte[] tar = bo.toByteArray();
        byte[] size = String.format("%011o", 690_000L * Cifar10.RECORD_BYTES).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(size, 0, tar, 124, 11);
        Arrays.fill(tar, 148, 156, (byte) ' ');
        long sum = 0;
        for (int k = 0; k < 512; k++) sum += tar[k] & 0xFF;
        System.arraycopy(String.format("%06o", sum).getBytes(StandardCharsets.US_ASCII), 0, tar, 148, 6);
        tar[154] = 0;
        Path plain = Files.write(dir.resolve("hostile.tar"), tar);
        return gzip(plain);
    }

    /**
     * Headers that claim gigabytes in files of a kilobyte, read with a 48 MB heap: each is
     * rejected with a DataFileException naming the file, and the child's resident memory stays
     * small (before, a 1 KB header claiming 500 x 1000 x 1000 pushed it to 2 GB).
     */
    @Test
    void hostileHeadersAreRejectedWithBoundedMemory() throws Exception {
        Path dir = workDir("hostile");
        byte[] kb = new byte[1024];
        List<String> args = new ArrayList<>();
        int n = 0;
        for (int[] dims : new int[][] {{500, 20000, 20000}, {500, 1000, 1000}, {1, 65536, 65536}}) {
            Path f = dir.resolve("images" + n++);
            Files.write(f, idxHeader(Mnist.IMAGES_MAGIC, dims));
            Files.write(f, kb, StandardOpenOption.APPEND);
            args.addAll(List.of("mnist-images", f.toString(), "mnist-images", gzip(f).toString()));
        }
        Path labels = Files.write(dir.resolve("labels"), idxHeader(Mnist.LABELS_MAGIC, 2_000_000_000));
        args.addAll(List.of("mnist-labels", labels.toString(), "mnist-labels", gzip(labels).toString()));
        args.addAll(List.of("cifar", hostileCifar(dir).toString(), "cifar", dir.resolve("hostile.tar").toString()));
        ChildJvm.Result r = ChildJvm.run(List.of("-Xmx48m"), 120, HostileFiles.class.getName(), args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.output());
        assertEquals(args.size() / 2, r.output().lines().filter(l -> l.startsWith("rejected ")).count(), r.output());
        assertTrue(r.peakRssKib() > 0 && r.peakRssKib() < 400 * 1024, "peak RSS " + r.peakRssKib() + " KiB:\n" + r.output());
    }

    /** One flipped bit in the real CIFAR-10 archive (gzip -t rejects it) is an error, even reading 100 records. */
    @Test
    void aBitFlippedCifarArchiveIsRejected() throws IOException {
        Path real = SharedData.file("cifar10/" + Cifar10.ARCHIVE_NAME);
        Path dir = workDir("bitflip");
        byte[] b = Files.readAllBytes(real);
        for (long at : new long[] {b.length - 6, b.length / 2}) {   // in the CRC-32 trailer; in the middle of the data
            byte[] c = b.clone();
            c[(int) at] ^= 0x04;
            Path f = Files.write(dir.resolve("flipped.tar.gz"), c);
            DataFileException e = assertThrows(DataFileException.class, () -> Cifar10.load(f, 100, 100).close(), "bit at " + at);
            assertTrue(e.getMessage().contains("flipped.tar.gz"), e.getMessage());
        }
    }

    /**
     * kill -9 while a checkpoint is being written: every checkpoint file left is whole, the
     * newest resumes, the stale temporary file is deleted on that start, and the resumed run
     * ends bit-identical to an uninterrupted one.
     */
    @Test
    void killDuringACheckpointWriteThenResume() throws Exception {
        Path straight = workDir("kill-straight"), dir = workDir("kill");
        ChildJvm.Result full = ChildJvm.run(List.of("-Xmx1g"), 300, CheckpointedTraining.class.getName(), straight.toString(), "3");
        assertEquals(0, full.exit(), full.output());

        Process p = ChildJvm.start(List.of("-Xmx1g"), CheckpointedTraining.class.getName(), dir.toString(), "3");
        boolean killedInWrite = false;
        long deadline = System.nanoTime() + 300_000_000_000L;
        while (p.isAlive() && System.nanoTime() < deadline) {
            if (Files.exists(dir.resolve("run_epoch_1.safetensors")) && tmpFiles(dir).size() > 0) {
                p.destroyForcibly();   // SIGKILL
                killedInWrite = true;
                break;
            }
            Thread.sleep(1);
        }
        p.waitFor();
        if (!killedInWrite) {
            throw new AssertionError("the run ended before a checkpoint write could be interrupted:\n"
                    + new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
        int last = -1;
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (name.matches("run_epoch_\\d+\\.safetensors")) {
                    last = Math.max(last, Integer.parseInt(name.replaceAll("\\D", "")));
                    SafeTensors.load(f).close();   // whole: it reads
                }
            }
        }
        assertTrue(last >= 1, "no complete checkpoint");
        ChildJvm.Result resumed = ChildJvm.run(List.of("-Xmx1g"), 300, CheckpointedTraining.class.getName(), dir.toString(), "3",
                dir.resolve("run_epoch_" + last + ".safetensors").toString());
        assertEquals(0, resumed.exit(), resumed.output());
        assertEquals(lastLine(full.output()), lastLine(resumed.output()), "resumed run differs from the uninterrupted one");
        assertEquals(List.of(), tmpFiles(dir), "stale temporary files were not deleted");
    }

    static List<Path> tmpFiles(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList();
        }
    }

    static String lastLine(String output) {
        return output.lines().filter(l -> l.startsWith("done ")).reduce((a, b) -> b).orElse("(no result line)\n" + output);
    }
}
