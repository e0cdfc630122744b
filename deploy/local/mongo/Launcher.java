// mongo-java-server as a stand-alone local MongoDB-wire server (docs/decisions/0080).
//
// Run without a compile step (single-file source mode):
//   java -cp '<libs>/*' Launcher.java --host 127.0.0.1 --port 27017 [--store FILE --cache-mb N]
// Without --store the memory backend serves (fast, nothing survives a stop); with --store the
// H2 MVStore backend keeps the data in FILE. The default MVStore cache (16 MB) makes every list
// query at 100k orders re-read the file, hence --cache-mb.
import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.h2.mvstore.MVStore;

public class Launcher {
    // The server's own ServerVersion.MONGO_5_0 reports wire version 8, which PyMongo 4.x refuses
    // (it needs >= 9); MongoDB 5.0's real wire version is 13, which every PyMongo 4.x accepts.
    static final MongoVersion MONGODB_5_0 = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(5, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 13;
        }
    };

    // The server's own versions report wire version <= 8, which PyMongo 4.x refuses. It speaks
    // OP_MSG and the commands orderlens uses like MongoDB 5.0 (wire version 13).
    static final MongoVersion VERSION = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(5, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 13;
        }
    };

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 27017;
        String store = null;
        int cacheMb = 1024;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--store" -> store = args[++i];
                case "--cache-mb" -> cacheMb = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        final MongoBackend backend;
        final MVStore mvStore;
        if (store == null) {
            mvStore = null;
            backend = new MemoryBackend();
        } else {
            mvStore = new MVStore.Builder().fileName(store).cacheSize(cacheMb).open();
            backend = new H2Backend(mvStore);
        }
        backend.version(VERSION);
        MongoServer server = new MongoServer(backend);
        server.bind(host, port);
        System.out.println("mongo-java-server listening on " + host + ":" + port + " backend="
                + (store == null ? "memory" : "h2 " + store + " cache=" + cacheMb + "MB"));
        System.out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM/SIGINT: stop accepting, then close the backend, which commits and closes the
        // MVStore file. A SIGKILL skips this: writes after the last background commit are lost.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdownNow();
            if (mvStore != null) {
                mvStore.close();
            }
            System.out.println("mongo-java-server stopped");
            System.out.flush();
            stopped.countDown();
        }));
        stopped.await();
    }
}
