Console.WriteLine("sieve");
