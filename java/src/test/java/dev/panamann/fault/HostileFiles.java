package dev.panamann.fault;

import dev.panamann.data.Cifar10;
import dev.panamann.data.DataFileException;
import dev.panamann.data.Mnist;
import java.nio.file.Path;

/**
 * Child-JVM program of the fault suite: reads files whose headers claim far more data than
 * they hold (run with a small -Xmx). Each read must fail with a {@link DataFileException}; the
 * program prints one line per file and exits 0 when all were rejected cleanly, 1 otherwise.
 * Arguments: pairs of kind (mnist-images, mnist-labels, cifar) and path.
 */
public final class HostileFiles {
    public static void main(String[] args) {
        int bad = 0;
        for (int i = 0; i + 1 < args.length; i += 2) {
            Path f = Path.of(args[i + 1]);
            try {
                switch (args[i]) {
                    case "mnist-images" -> Mnist.readImages(f, Mnist.ALL, true).close();
                    case "mnist-labels" -> Mnist.readLabels(f, Mnist.ALL);
                    case "cifar" -> Cifar10.load(f, Cifar10.ALL, Cifar10.ALL).close();
                    default -> throw new IllegalArgumentException(args[i]);
                }
                System.out.println("ACCEPTED " + f);
                bad++;
            } catch (DataFileException e) {
                System.out.println("rejected " + e.getMessage());
            } catch (Throwable e) {
                System.out.println("WRONG ERROR " + e);
                bad++;
            }
        }
        System.exit(bad == 0 ? 0 : 1);
    }

    private HostileFiles() {}
}
